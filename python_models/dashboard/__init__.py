"""The static HTML dashboard: what the warehouse holds, drawn with Altair, opened offline."""

from python_models.dashboard.data import DashboardData, collect_dashboard_data
from python_models.dashboard.render import render_dashboard, write_dashboard

__all__ = ["DashboardData", "collect_dashboard_data", "render_dashboard", "write_dashboard"]

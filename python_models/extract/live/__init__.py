"""Live sources: the shop's PostgreSQL database (dlt) and the CRM's paginated REST API.

Both land rows in the same raw tables the file sources fill (`raw.shop_orders`,
`raw.shop_order_lines`, `raw.crm_contacts`), with the same `_` metadata columns and one
`audit.load_audit` row per extract, so staging, quality and identity do not care how a row
arrived. Their incremental state is kept in the warehouse.
"""

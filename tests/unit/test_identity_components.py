"""Connected components over links: the cluster labels every later stage relies on."""

import numpy as np
import pytest

from python_models.identity.clustering import connected_components


def test_labels_are_the_smallest_member_and_ignore_link_order():
    left = np.array([4, 1, 5, 3])
    right = np.array([2, 4, 6, 3])
    labels = connected_components(7, left, right)
    assert labels.tolist() == [0, 1, 1, 3, 1, 5, 5]
    shuffled = connected_components(7, right[::-1], left[::-1])
    assert shuffled.tolist() == labels.tolist()


def test_no_links_means_every_record_alone_and_empty_input_is_fine():
    assert connected_components(3, np.array([]), np.array([])).tolist() == [0, 1, 2]
    assert connected_components(0, np.array([]), np.array([])).tolist() == []


def test_mismatched_link_ends_are_rejected():
    with pytest.raises(ValueError, match="left has 2"):
        connected_components(3, np.array([0, 1]), np.array([1]))

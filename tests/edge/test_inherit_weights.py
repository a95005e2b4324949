"""inherit_weights: a smaller model starts from a larger one's weights (HAT-style slices)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from edge.train.api import inherit_weights  # noqa: E402


def _model(n_in: int, width: int, extra: int) -> object:
    x = keras.Input((n_in,))
    h = keras.layers.Dense(width, name="shared")(x)
    y = keras.layers.Dense(extra, name="head")(h)
    return keras.Model(x, keras.layers.Dense(3, name=f"only_{extra}")(y))


def test_equal_shapes_are_copied_smaller_ones_sliced_the_rest_fresh() -> None:
    keras.utils.set_random_seed(1)
    big, small = _model(6, 8, 5), _model(4, 8, 7)
    fresh_only = small.get_layer("only_7").get_weights()[0].copy()
    counts = inherit_weights(big, small)
    # shared: kernel (4, 8) sliced from (6, 8), bias (8,) copied; head: kernel (8, 7) vs (8, 5)
    # is larger on one axis -> fresh, bias (7,) vs (5,) -> fresh; only_7 is not in big -> fresh
    assert counts == {"copied": 1, "sliced": 1, "fresh": 4}
    kernel, bias = small.get_layer("shared").get_weights()
    big_kernel, big_bias = big.get_layer("shared").get_weights()
    np.testing.assert_array_equal(kernel, big_kernel[:4, :8])
    np.testing.assert_array_equal(bias, big_bias)
    np.testing.assert_array_equal(small.get_layer("only_7").get_weights()[0], fresh_only)

"""The vocabulary and skeleton constants: layout, round trips, graph properties."""

import numpy as np
import pytest

from edge import skeleton, vocab


def test_vocabulary_layout_matches_foley_music() -> None:
    assert (vocab.NOTE_ON_OFFSET, vocab.NOTE_OFF_OFFSET) == (0, 88)
    assert (vocab.VELOCITY_OFFSET, vocab.TIME_SHIFT_OFFSET) == (176, 208)
    assert (vocab.SOS, vocab.EOS, vocab.PAD, vocab.VOCAB_SIZE) == (240, 241, 242, 243)
    assert vocab.note_on(21) == 0 and vocab.note_off(108) == 175
    assert vocab.TIME_SHIFT_TABLE_S[0] == pytest.approx(1 / 65)
    assert vocab.TIME_SHIFT_TABLE_S[31] == pytest.approx(1.15**31 / 65)


def test_every_token_describes_and_velocity_bins_round_trip() -> None:
    names = {vocab.token_name(t) for t in range(vocab.VOCAB_SIZE)}
    assert len(names) == vocab.VOCAB_SIZE
    for b in range(vocab.N_VELOCITY_BINS):
        assert vocab.velocity_to_bin(vocab.bin_to_velocity(b)) == b
    assert {vocab.velocity_to_bin(v) for v in range(1, 128)} == set(range(32))
    with pytest.raises(ValueError, match="pitch must be in 21..108, found 20"):
        vocab.note_on(20)


def test_c_header_carries_the_same_numbers() -> None:
    h = vocab.c_header()
    assert "#define FE_VOCAB_SIZE 243" in h
    assert f"0x{vocab.vocab_hash():08X}u" in h
    assert "GENERATED" in h


def test_body65_graph_is_a_tree_rooted_anywhere() -> None:
    assert len(skeleton.JOINT_NAMES) == 65
    assert len(skeleton.EDGES) == 64  # 65 joints, connected, no cycles
    assert (skeleton.hop_distance() >= 0).all()
    assert skeleton.JOINT_NAMES[25] == "LThumb1" and skeleton.JOINT_NAMES[45] == "RThumb1"
    assert (skeleton.L_WRIST, 25) in skeleton.EDGES and (skeleton.R_WRIST, 45) in skeleton.EDGES


def test_partition_adjacency_properties() -> None:
    a = skeleton.partition_adjacency()
    assert a.shape == (3, 65, 65)
    np.testing.assert_allclose(a.sum(0).sum(0), 1.0, rtol=1e-6)  # column-normalised
    np.testing.assert_array_equal(np.diag(a[0]) > 0, True)  # subset 0: self loops only
    assert np.count_nonzero(a[0] - np.diag(np.diag(a[0]))) == 0
    # centripetal edges point from the neighbour closer to the Neck into the farther joint
    hop = skeleton.hop_distance()[:, skeleton.NECK]
    nb, root = np.nonzero(a[1])
    assert (hop[nb] < hop[root]).all() and len(nb) == 64
    nb, root = np.nonzero(a[2])
    assert (hop[nb] > hop[root]).all() and len(nb) == 64


def test_mirror_is_an_involution_swapping_sides() -> None:
    m = np.array(skeleton.MIRROR)
    np.testing.assert_array_equal(m[m], np.arange(65))
    assert m[skeleton.L_WRIST] == skeleton.R_WRIST and m[skeleton.NECK] == skeleton.NECK
    assert m[25] == 45

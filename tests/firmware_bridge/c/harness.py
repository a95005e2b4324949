"""Build the protocol's C harnesses for the host, and render the shared vectors as C.

Used by tests/firmware_bridge/test_protocol_c.py and test_link*.py (loaded by path: tests/ is
not a package). The C code under test is edge/firmware/protocol/fe_proto.c with the header
that spec.c_header() generates, written into the build folder here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from edge import protocol_spec as spec
from edge.protocol_spec import MsgType

REPO = Path(__file__).resolve().parents[3]
PROTO_DIR = REPO / "edge" / "firmware" / "protocol"
HERE = Path(__file__).resolve().parent
FIXTURE = REPO / "tests" / "fixtures" / "protocol_vectors.json"
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all")
CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O1", "-g")


def have_gcc() -> bool:
    """True when a host C compiler is on PATH."""
    return shutil.which("gcc") is not None


def build(
    out_dir: Path, name: str, sources: list[Path], *, sanitize: bool = True,
    defines: tuple[str, ...] = (),
) -> Path:
    """Compile ``sources`` + fe_proto.c into ``out_dir/name`` (fe_protocol.h written there)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "fe_protocol.h").write_text(spec.c_header())
    exe = out_dir / name
    cmd = ["gcc", *CFLAGS, *(SANITIZE if sanitize else ()), *(f"-D{d}" for d in defines),
           f"-I{out_dir}", f"-I{PROTO_DIR}",
           *map(str, sources), str(PROTO_DIR / "fe_proto.c"), "-o", str(exe)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise AssertionError(f"gcc failed ({res.returncode}):\n{' '.join(cmd)}\n{res.stderr}")
    return exe


def build_fake_device(out_dir: Path) -> Path:
    """The TCP stand-in device (fake_device.c), speaking the host's vocabulary by default."""
    from edge.vocab import vocab_hash

    return build(out_dir, "fake_device", [HERE / "fake_device.c"],
                 defines=(f"FE_VOCAB_HASH_DEFAULT=0x{vocab_hash():08X}u",))  # fmt: skip


def load_vectors() -> dict:
    """The shared fixture."""
    return json.loads(FIXTURE.read_text())


def _c_bytes(name: str, hex_data: str) -> str:
    data = bytes.fromhex(hex_data)
    body = ", ".join(f"0x{b:02X}" for b in data) if data else "0"
    return f"static const uint8_t {name}[] = {{{body}}}; /* {len(data)} bytes */"


def _c_str(s: str) -> str:
    return json.dumps(s)  # ASCII vectors: JSON string syntax is C string syntax


def _check_hello(f: dict) -> str:
    inits = ",\n        ".join(
        f".{n} = {float(f[n]).hex()}f" if n in ("input_scale", "fps") else f".{n} = {f[n]}"
        for n in spec.LAYOUTS[MsgType.HELLO].names
        if n not in ("protocol_version", "max_payload")
    )
    return f"""\
    fe_hello_t h = {{
        {inits},
        .fw_version = {_c_str(f["fw_version"])}, .board = {_c_str(f["board"])}}};
    n = fe_pack_hello(&h, out, sizeof out);"""


def _check_events(f: dict) -> str:
    items = ", ".join(f"{{{t}, {o}u}}" for t, o in f["events"]) or "{0, 0}"
    return f"""\
    static const fe_event_t ev[] = {{{items}}};
    fe_events_hdr_t h = {{{f["hop_index"]}u, {f["time_us"]}u, {f["flags"]}}};
    n = fe_pack_events(&h, ev, {len(f["events"])}, out, sizeof out);"""


def _check_stats(f: dict) -> str:
    inits = ",\n        ".join(f".{n} = {f[n]}ull" for n in spec.LAYOUTS[MsgType.STATS].names)
    return f"""\
    fe_stats_t s = {{
        {inits}}};
    n = fe_pack_stats(&s, out, sizeof out);"""


def _check_error(f: dict) -> str:
    return f"    n = fe_pack_error({f['code']}, {f['ref_seq']}, {_c_str(f['detail'])}, out, sizeof out);"


def _check_credit(f: dict) -> str:
    return f"""\
    n = fe_pack_credit({f["ack_seq"]}, {f["credits"]}, {f["frame_index"]}u, out, sizeof out);
    {{
        uint16_t a, c; uint32_t i;
        CHECK(fe_unpack_credit(m, &a, &c, &i) == FE_OK && a == {f["ack_seq"]} &&
              c == {f["credits"]} && i == {f["frame_index"]}u, "unpack credit");
    }}"""


def _check_keypoints(f: dict) -> str:
    return f"""\
    uint32_t idx; const int8_t *v;
    CHECK(fe_unpack_keypoints(m, &idx, &v) == FE_OK, "unpack keypoints");
    CHECK(idx == {f["frame_index"]}u, "frame index %u", (unsigned)idx);
    CHECK(memcmp(v, payload + FE_KEYPOINTS_FIXED_SIZE, FE_N_JOINTS * FE_N_CHANNELS) == 0, "kp");
    n = len; memcpy(out, payload, len);"""


def _check_ping(f: dict) -> str:
    return """\
    const uint8_t *d; uint16_t dl;
    CHECK(fe_unpack_ping(m, &d, &dl) == FE_OK, "unpack ping");
    n = dl; memcpy(out, d, dl);"""


def _check_echo(f: dict) -> str:
    return "    n = len; memcpy(out, payload, len);"


def _check_empty_for(t: MsgType):
    def render(f: dict) -> str:
        return f"""\
    CHECK(fe_unpack_empty(m, FE_MSG_{t.name}) == FE_OK, "unpack empty");
    n = 0;"""

    return render


_RENDER = {
    MsgType.HELLO: _check_hello, MsgType.EVENTS: _check_events, MsgType.STATS: _check_stats,
    MsgType.ERROR: _check_error, MsgType.CREDIT: _check_credit,
    MsgType.KEYPOINTS: _check_keypoints, MsgType.PING: _check_ping, MsgType.PONG: _check_echo,
    **{t: _check_empty_for(t) for t in spec.EMPTY_TYPES},
}  # fmt: skip


def _msg_check(i: int, v: dict) -> str:
    body = _RENDER[MsgType(v["type"])](v["fields"])
    return f"""\
/* {v["name"]}: payload built (or unpacked) by the C API must equal the Python payload. */
static void check_msg_{i}(const fe_msg_t *m, const uint8_t *payload, size_t len) {{
    uint8_t out[FE_MAX_PAYLOAD + 1];
    size_t n = 0;
    (void)m;
{body}
    CHECK(n == len && memcmp(out, payload, len) == 0, "{v["name"]}: payload differs (%zu vs %zu)",
          n, len);
}}
"""


def _table(kind: str, rows: list[str]) -> str:
    return f"static const {kind}[] = {{\n    " + ",\n    ".join(rows) + "\n};"


def render_vectors_c(vec: dict) -> str:
    """C source ``vectors_data.h``: the fixture as arrays plus one check function per message."""
    parts = ["/* GENERATED from tests/fixtures/protocol_vectors.json by harness.py. */"]
    for i, c in enumerate(vec["crc"]):
        parts.append(_c_bytes(f"crc_{i}", c["data"]))
    for i, c in enumerate(vec["cobs"]):
        parts += [_c_bytes(f"cobs_raw_{i}", c["raw"]), _c_bytes(f"cobs_enc_{i}", c["encoded"])]
    for i, v in enumerate(vec["messages"]):
        parts += [
            _c_bytes(f"msg_payload_{i}", v["payload"]),
            _c_bytes(f"msg_frame_{i}", v["frame"]),
        ]
        parts.append(_msg_check(i, v))
    for i, b in enumerate(vec["bad_frames"]):
        parts.append(_c_bytes(f"bad_{i}", b["wire"]))
    for i, b in enumerate(vec["bad_payloads"]):
        parts.append(_c_bytes(f"badp_{i}", b["frame"]))

    def n(hex_data: str) -> int:
        return len(hex_data) // 2

    parts.append(
        _table(
            "crc_vec_t crc_vecs",
            [f"{{crc_{i}, {n(c['data'])}, {c['crc']}}}" for i, c in enumerate(vec["crc"])],
        )
    )
    parts.append(
        _table(
            "cobs_vec_t cobs_vecs",
            [
                f"{{cobs_raw_{i}, {n(c['raw'])}, cobs_enc_{i}, {n(c['encoded'])}}}"
                for i, c in enumerate(vec["cobs"])
            ],
        )
    )
    parts.append(
        _table(
            "msg_vec_t msg_vecs",
            [
                f'{{"{v["name"]}", {v["type"]}, {v["seq"]}, msg_payload_{i}, {n(v["payload"])}, '
                f"msg_frame_{i}, {n(v['frame'])}, check_msg_{i}}}"
                for i, v in enumerate(vec["messages"])
            ],
        )
    )
    parts.append(
        _table(
            "bad_vec_t bad_vecs",
            [
                f'{{"{b["name"]}", bad_{i}, {n(b["wire"])}, 0, {b["code"]}}}'
                for i, b in enumerate(vec["bad_frames"])
            ],
        )
    )
    parts.append(_table("bad_vec_t bad_payload_vecs", [
        f'{{"{b["name"]}", badp_{i}, {n(b["frame"])}, {b["type"]}, {b["code"]}}}'
        for i, b in enumerate(vec["bad_payloads"])]))  # fmt: skip
    return "\n".join(parts) + "\n"

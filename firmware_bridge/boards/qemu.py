"""Boot a firmware image on an emulated board: qemu-system-arm with the UARTs on TCP/file.

The invocation is the one PLATFORM.md checked::

    qemu-system-arm -machine M -display none -monitor none -icount shift=7
        -semihosting-config enable=on,target=native -kernel firmware.elf
        -serial tcp:127.0.0.1:PORT,server=on,wait=on,nodelay=on     (UART0: the host link)
        -serial file:din.bin | tcp:127.0.0.1:PORT2,server=on,wait=off,nodelay=on   (UART1: DIN)

``-icount shift=7`` makes every guest instruction take 128 ns of virtual time, so the board's
timer turns into an exact, repeatable instruction counter. With ``wait=on`` QEMU holds the
guest until a client connects to the host-link port, so the boot HELLO is never lost; the
launcher waits for QEMU's "waiting for connection" line on stderr instead of probing the port
(a probe would be taken for the client). ``nodelay=on`` matters: without it throughput drops to
about 1 KB/s. QEMU is started directly (no shell), so :attr:`QemuBoard.pid` is its real pid.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from firmware_bridge.boards.registry import Board
from firmware_bridge.errors import BoardError

QEMU = "qemu-system-arm"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
_WAITING = b"waiting for connection"


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class QemuCommand:
    """A QEMU command line and the endpoints it will open."""

    argv: tuple[str, ...]  # full command line, argv[0] = qemu-system-arm
    host_port: int  # TCP port of UART0 (the host link)
    din_port: int | None  # TCP port of UART1 when DIN goes to TCP
    din_file: Path | None  # file receiving UART1's bytes when DIN goes to a file


def qemu_command(
    board: Board, elf: Path, *, host_port: int, din_file: Path | None = None,
    din_port: int | None = None, icount: bool = True,
) -> QemuCommand:  # fmt: skip
    """The qemu-system-arm command line booting ``elf`` on ``board`` (pure: starts nothing)."""
    if board.qemu_machine is None:
        raise BoardError(f"board {board.name!r} is real hardware, not a QEMU board: use flash")
    if din_file is not None and din_port is not None:
        raise BoardError("DIN output goes to a file or to a TCP port, not both")
    argv = [QEMU, "-machine", board.qemu_machine, "-display", "none", "-monitor", "none"]
    if icount:
        argv += ["-icount", "shift=7"]
    argv += ["-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    argv += ["-serial", f"tcp:127.0.0.1:{host_port},server=on,wait=on,nodelay=on"]
    if din_file is not None:
        argv += ["-serial", f"file:{din_file}"]
    elif din_port is not None:
        argv += ["-serial", f"tcp:127.0.0.1:{din_port},server=on,wait=off,nodelay=on"]
    else:
        argv += ["-serial", "null"]
    return QemuCommand(tuple(argv), host_port, din_port, din_file)


class QemuBoard:
    """A running emulated board; use as a context manager, or call :meth:`stop`.

    ``url`` is the pyserial URL of the host link (``socket://127.0.0.1:PORT``); ``din_url`` or
    ``din_file`` carry the DIN MIDI bytes. stderr is captured to a file and quoted in errors.
    """

    def __init__(
        self, board: Board, elf: str | os.PathLike[str], *, din: str = "file",
        workdir: str | os.PathLike[str] | None = None, icount: bool = True,
    ) -> None:  # fmt: skip
        if shutil.which(QEMU) is None:
            raise BoardError(f"{QEMU} not found on PATH: install qemu-system-arm (make setup)")
        self.board = board
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise BoardError(f"{self.elf}: firmware image not found")
        if din not in ("file", "tcp", "none"):
            raise BoardError(f"din must be 'file', 'tcp' or 'none', found {din!r}")
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="foley-qemu-")
        self.workdir = Path(workdir) if workdir else Path(self._tmp.name)  # type: ignore[union-attr]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.command = qemu_command(
            board, self.elf, host_port=free_tcp_port(),
            din_file=self.workdir / "din.bin" if din == "file" else None,
            din_port=free_tcp_port() if din == "tcp" else None, icount=icount,
        )  # fmt: skip
        self.stderr_path = self.workdir / "qemu.stderr"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """pyserial URL of the host link."""
        return f"socket://127.0.0.1:{self.command.host_port}"

    @property
    def din_url(self) -> str | None:
        """pyserial URL of the DIN MIDI port when it goes to TCP."""
        port = self.command.din_port
        return None if port is None else f"socket://127.0.0.1:{port}"

    @property
    def din_file(self) -> Path | None:
        """File collecting the DIN MIDI bytes when it goes to a file."""
        return self.command.din_file

    @property
    def pid(self) -> int:
        """Process id of qemu-system-arm."""
        if self._proc is None:
            raise BoardError("QEMU is not running")
        return self._proc.pid

    def stderr_text(self) -> str:
        """What QEMU wrote on stderr so far."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, timeout_s: float = START_TIMEOUT_S) -> QemuBoard:
        """Start QEMU and return once it listens on the host-link port."""
        with open(self.stderr_path, "wb") as err:
            self._proc = subprocess.Popen(
                self.command.argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BoardError(
                    f"{QEMU} exited with status {self._proc.returncode} while starting "
                    f"{self.board.name}: {self.stderr_text().strip()}"
                )
            if _WAITING in self.stderr_path.read_bytes():
                return self
            time.sleep(0.02)
        self.stop()
        raise BoardError(f"{QEMU} did not open port {self.command.host_port} in {timeout_s} s")

    def wait(self, timeout_s: float) -> int:
        """Wait for QEMU to exit (a semihosting exit) and return its status."""
        if self._proc is None:
            raise BoardError("QEMU is not running")
        try:
            return self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise BoardError(f"QEMU still running after {timeout_s} s") from None

    def returncode(self) -> int | None:
        """QEMU's exit status, or None while it runs."""
        return None if self._proc is None else self._proc.poll()

    def stop(self) -> int | None:
        """Terminate QEMU (SIGTERM, then SIGKILL after a grace period); returns its status."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        code = None if proc is None else proc.returncode
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return code

    def __enter__(self) -> QemuBoard:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

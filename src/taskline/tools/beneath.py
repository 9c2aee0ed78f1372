"""Opening a path beneath a directory without following a single link.

Two ways to the same rule. Linux 5.6 and later have `openat2(2)`, whose
`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` makes the kernel refuse, atomically, a
path that would leave the directory or pass a symlink anywhere. Elsewhere (an
older kernel, or a seccomp filter that blocks the call) the path is walked one
component at a time, each directory opened relative to the one before with
`O_NOFOLLOW | O_DIRECTORY`, so what is checked is what is opened: swapping a
directory for a symlink between two steps makes the next step fail, never
leave.

Paths given here are already lexically clean: relative, no `.` or `..`
components (see `taskline.tools.workspace.Workspace`). Errors are `OSError`s:
`ELOOP` for a symlink on the way, `EXDEV` for an escape openat2 caught.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import stat

SYS_OPENAT2 = 437  # the same number on every Linux architecture: it came after the unification
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_FLAGS = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
AT_FDCWD = -100
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _openat2(dir_fd: int, path: str, flags: int, mode: int) -> int:
    # The kernel refuses a mode without O_CREAT, so it is given only with one.
    how = _OpenHow(flags | os.O_CLOEXEC, mode if flags & os.O_CREAT else 0, RESOLVE_FLAGS)
    fd: int = _libc().syscall(
        SYS_OPENAT2, dir_fd, os.fsencode(path), ctypes.byref(how), ctypes.sizeof(how)
    )
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), path)
    return fd


@functools.cache
def openat2_supported() -> bool:
    """Whether this kernel (and any seccomp filter around it) lets taskline call openat2."""
    try:
        os.close(_openat2(AT_FDCWD, ".", os.O_RDONLY | os.O_DIRECTORY, 0))
    except (OSError, AttributeError):  # ENOSYS, a filter's EPERM, or no libc syscall()
        return False
    return True


def open_beneath(
    dir_fd: int, path: str, flags: int, mode: int = 0o666, *, use_openat2: bool = True
) -> int:
    """A descriptor for `path` beneath `dir_fd`, with no symlink followed on the way."""
    if use_openat2 and openat2_supported():
        return _openat2(dir_fd, path, flags, mode)
    *directories, leaf = path.split("/")
    fd = _walk(dir_fd, directories, create=False)
    try:
        return _open_leaf(fd, leaf, flags, mode)
    finally:
        os.close(fd)


def open_parent(dir_fd: int, directories: list[str], *, create: bool) -> int:
    """A descriptor for the directory `directories` names beneath `dir_fd`.

    With `create`, missing directories are made on the way, each relative to
    its parent's descriptor, so a symlink swapped in cannot redirect them.
    """
    return _walk(dir_fd, directories, create=create)


def _walk(dir_fd: int, directories: list[str], *, create: bool) -> int:
    fd = os.open(".", DIRECTORY_FLAGS, dir_fd=dir_fd)
    try:
        for name in directories:
            if create:
                try:
                    os.mkdir(name, 0o777, dir_fd=fd)
                except FileExistsError:  # a directory already, or a link the open refuses
                    pass
            following = _open_leaf(fd, name, os.O_PATH | os.O_DIRECTORY, 0)
            os.close(fd)
            fd = following
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_leaf(dir_fd: int, name: str, flags: int, mode: int) -> int:
    """`name` in `dir_fd`, refused (ELOOP) if it is a symlink, ENOTDIR if a directory was asked.

    O_DIRECTORY is checked on what was opened rather than passed to the kernel:
    with O_NOFOLLOW it reports a symlink as ENOTDIR, and asking afterwards what
    the name is would race with whoever swaps it.
    """
    opened = flags & ~os.O_DIRECTORY
    if not opened & os.O_PATH:
        opened |= os.O_NONBLOCK  # a FIFO must not hold the open; it is refused once open
    fd = os.open(name, opened | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    mode_bits = os.fstat(fd).st_mode
    # With O_PATH, O_NOFOLLOW opens a symlink itself rather than failing.
    if stat.S_ISLNK(mode_bits):
        os.close(fd)
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name)
    if flags & os.O_DIRECTORY and not stat.S_ISDIR(mode_bits):
        os.close(fd)
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), name)
    return fd

"""Operating-system limits for the process that runs a user's SQL (`watchbuddy sql`).

DuckDB's own settings are soft where it matters most: `memory_limit` does not cover every
allocation (a large result is converted outside it), and its file checks cannot tell a read
from a write. So the query runs in a child process that, once its views are open, makes
itself unable to harm the machine: a ceiling on its address space, and, on Linux, a
Landlock rule set under which it can no longer create, change, truncate, rename or delete
any file anywhere. The kernel enforces both, whatever the SQL asks for.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import sys

# Landlock (Linux 5.13+): the system calls share their numbers on every architecture.
_SYS_CREATE_RULESET, _SYS_RESTRICT_SELF = 444, 446
_CREATE_RULESET_VERSION = 1
_PR_SET_NO_NEW_PRIVS = 38
# Every right that changes the file system; reading and executing stay allowed.
_WRITE_RIGHTS_V1 = (
    (1 << 1)  # WRITE_FILE
    | (1 << 4)  # REMOVE_DIR
    | (1 << 5)  # REMOVE_FILE
    | (1 << 6)  # MAKE_CHAR
    | (1 << 7)  # MAKE_DIR
    | (1 << 8)  # MAKE_REG
    | (1 << 9)  # MAKE_SOCK
    | (1 << 10)  # MAKE_FIFO
    | (1 << 11)  # MAKE_BLOCK
    | (1 << 12)  # MAKE_SYM
)
_REFER = 1 << 13  # ABI 2: link or rename a file into another directory
_TRUNCATE = 1 << 14  # ABI 3: truncate a file opened before, or via truncate(2)


def forbid_file_writes() -> bool:
    """Make this process unable to change any file, for the rest of its life.

    Returns False where the kernel cannot (not Linux, Landlock missing or disabled); the
    caller's other locks still hold there. Files already open stay usable (our stdout is a
    pipe), so call this after everything that legitimately writes."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        abi = syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
        if abi < 1:
            return False
        rights = _WRITE_RIGHTS_V1
        if abi >= 2:
            rights |= _REFER
        if abi >= 3:
            rights |= _TRUNCATE
        # struct landlock_ruleset_attr starts with handled_access_fs; a shorter struct is
        # how an older ABI is asked for. No rule is added: what is handled is denied.
        attr = ctypes.c_uint64(rights)
        fd = syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(8), 0)
        if fd < 0:
            return False
        try:
            if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                return False
            return syscall(_SYS_RESTRICT_SELF, fd, 0) == 0
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        return False


def cap_address_space(extra_bytes: int) -> bool:
    """Let this process map at most `extra_bytes` more memory than it has mapped now.

    A hard ceiling: past it an allocation fails (DuckDB and Arrow raise, C code may
    abort) instead of the machine swapping or the OOM killer picking a victim. Measured
    from the current size, because the interpreter, DuckDB's thread stacks and its
    allocator arenas already reserve address space they never touch."""
    current = _mapped_bytes()
    if current is None:
        return False
    limit = current + extra_bytes
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return True
    return False


def _mapped_bytes() -> int | None:
    """This process's mapped address space (VmSize), where the OS tells it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None

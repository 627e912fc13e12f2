"""The grading kernel: an IPython kernel that can read neither the course repository nor lstmlab.

A student's code runs in this kernel before the test cells, so it can do anything Python can. The
sandbox uses Landlock (Linux >= 5.13, no privileges needed) to confine the kernel process and
everything it starts to: read access to the Python installation, the system libraries and the
notebook's own folder (write access there and in a private temporary folder), and nothing else. The
gradebook, the solutions and lstmlab's implementations are out of reach wherever lstmlab is installed:
Landlock only allows, so where lstmlab sits inside an allowed folder (site-packages, after a normal
`pip install`) that folder is allowed entry by entry around lstmlab, and of lstmlab itself only
`__init__.py` and `checking.py`. `lstmlab.checking` is imported before the sandbox closes, so the test
cells can still call `check`; the grader hands the kernel this student's hidden-case seed in
LSTMLAB_HIDDEN_SEED (never the instructor's secret, and never a reference value). Of /proc the
kernel reads only its own entries, so the environment of the grader (which may hold the secret) and
of other students' kernels stays out of reach. Where the kernel supports it, the kernel also cannot
signal processes outside the sandbox (it cannot kill the grader), and an address-space limit stops it
from exhausting the machine's memory.

Run as `python -m lstmlab.grading.sandbox -f CONNECTION_FILE`: the kernelspec `lstmlab-sandbox`.
"""

import ctypes
import os
import resource
import site
import sys
import sysconfig
import tempfile

import lstmlab

KERNEL_NAME = "lstmlab-sandbox"
MEMORY_LIMIT = int(os.environ.get("LSTMLAB_GRADING_MEMORY", 4 * 2**30))

# Landlock ABI (linux/landlock.h); the syscall numbers are the same on every architecture.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # truncate, ioctl_dev
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi():
    """The kernel's Landlock ABI version, 0 where Landlock is unavailable."""
    version = _libc.syscall(SYS_CREATE_RULESET, None, 0, CREATE_RULESET_VERSION)
    return max(version, 0)


def _fs_rights(abi):
    return FS_RIGHTS_BY_ABI[max(v for v in FS_RIGHTS_BY_ABI if v <= abi)]


def _check(result, what):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock {what}: {os.strerror(err)}")
    return result


def restrict(read_only, read_write, readable_files=(), rules=()):
    """Confine this process and its children to the given paths and (path, rights) rules (Landlock), irreversibly."""
    abi = landlock_abi()
    if abi < 1:
        raise RuntimeError("Landlock is not available: the grading kernel cannot be sandboxed")
    if abi < 6:
        print(f"lstmlab sandbox: Landlock ABI {abi} cannot stop the kernel from signalling other "
              "processes; use Linux 6.12 or newer to grade untrusted code", file=sys.stderr)
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled, 0, SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 8
    ruleset = _check(_libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), size, 0), "create_ruleset")
    try:
        rules = [*rules, *((p, EXECUTE | READ_FILE | READ_DIR) for p in read_only)]
        rules += [(p, handled) for p in read_write]
        rules += [(p, READ_FILE) for p in readable_files]
        for path, rights in rules:
            if not os.path.exists(path):
                continue
            if not os.path.isdir(path):
                rights &= FILE_ONLY
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(rights & handled, fd)
                _check(_libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0),
                       f"add_rule {path}")
            finally:
                os.close(fd)
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(_libc.syscall(SYS_RESTRICT_SELF, ruleset, 0), "restrict_self")
    finally:
        os.close(ruleset)
    return abi


def python_paths():
    """Every folder the interpreter and its packages are loaded from."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             *site.getsitepackages(), *sysconfig.get_paths().values()}
    return sorted(p for p in paths if p)


def lstmlab_folder():
    return os.path.dirname(os.path.realpath(lstmlab.__file__))


def read_rules(roots, denied, exceptions):
    """(path, rights) that allow reading `roots` except the folder `denied`, where only `exceptions` are readable.

    A Landlock right granted on a folder holds for everything beneath it, so a root that holds `denied`
    gets only the right to list folders, and each entry beside the way down to `denied` gets the rest.
    """
    rules = []
    for root in roots:
        root = os.path.realpath(root)
        if not os.path.isdir(root) or not (denied + os.sep).startswith(root + os.sep):
            rules.append((root, EXECUTE | READ_FILE | READ_DIR))
            continue
        rules.append((root, READ_DIR))
        folder = root
        while folder != denied:
            step = os.path.join(folder, os.path.relpath(denied, folder).split(os.sep)[0])
            for entry in os.scandir(folder):
                real = os.path.realpath(entry.path)
                if entry.path != step and not (denied + os.sep).startswith(real + os.sep):
                    rules.append((entry.path, EXECUTE | READ_FILE | READ_DIR))
            folder = step
        rules += [(os.path.join(denied, name), READ_FILE) for name in exceptions]
    return rules


def proc_rules():
    """/proc, less every other process's entries: the grader's environment and memory stay unreadable
    (Landlock's own ptrace check does not stop reading /proc/PID/environ on every kernel)."""
    rules = [("/proc", READ_DIR), (f"/proc/{os.getpid()}", READ_FILE | READ_DIR)]
    # Everything else at the top (cpuinfo, meminfo, sys, ...); self, thread-self, net, mounts lead to our own.
    rules += [(entry.path, READ_FILE | READ_DIR) for entry in os.scandir("/proc") if not entry.name.isdigit()]
    return rules


def main(argv):
    connection_file = argv[argv.index("-f") + 1]
    private = tempfile.mkdtemp(prefix="lstmlab-kernel-")
    for var in ("HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR"):
        os.environ[var] = private
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # Preloaded while the package is still readable; the test cells need nothing else of it.
    import lstmlab.checking  # noqa: F401  (it reads this student's hidden-case seed, LSTMLAB_HIDDEN_SEED)
    import numpy  # noqa: F401

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    roots = ["/usr", "/lib", "/lib64", "/bin", "/etc", "/sys", *python_paths()]
    restrict(
        read_only=[],
        read_write=[os.getcwd(), private, "/dev"],
        readable_files=[connection_file],
        rules=read_rules(roots, lstmlab_folder(), ["__init__.py", "checking.py"]) + proc_rules(),
    )
    # The notebook's folder stands first on sys.path, as in a normal kernel; the package root does not.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    sys.path.insert(0, os.getcwd())
    from ipykernel import kernelapp, kernelbase

    # psutil cannot list processes once other processes' /proc entries are closed; on shutdown the kernel
    # manager signals the kernel's whole process group, which ends anything the student started.
    kernelbase.Kernel._process_children = lambda self: []
    kernelapp.launch_new_instance(argv=argv)


if __name__ == "__main__":
    main(sys.argv[1:])

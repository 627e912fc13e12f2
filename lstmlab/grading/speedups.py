"""Work that nbgrader repeats for every submission although it is the same each time, done once per process.

nbgrader builds a new exporter, so a new Jinja environment, for every feedback page, and so compiles the
same templates again; and it checks its own metadata schema against the JSON Schema meta-schema for every
cell of every notebook (`jsonschema.validate`). Together that was about a fifth of the grader's CPU time
per notebook. `install()` keeps the compiled templates and one validator per schema for the process.
"""

import functools
import json
import types

import jinja2
import jsonschema


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled Jinja templates kept in memory for the life of the process."""

    def __init__(self):
        self.store = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


def reuse_compiled_templates():
    from nbconvert.exporters.templateexporter import TemplateExporter
    create, cache = TemplateExporter._create_environment, CompiledTemplates()

    def with_cache(exporter):
        environment = create(exporter)
        environment.bytecode_cache = cache
        return environment
    TemplateExporter._create_environment = with_cache


@functools.cache
def _validator(schema_json):
    schema = json.loads(schema_json)
    return jsonschema.validators.validator_for(schema)(schema)


def validate(instance, schema):
    """jsonschema.validate, less the check of the (fixed, valid) schema itself on every call."""
    error = jsonschema.exceptions.best_match(
        _validator(json.dumps(schema, sort_keys=True)).iter_errors(instance))
    if error is not None:
        raise error


def reuse_schema_validators():
    from nbgrader.nbgraderformat import common
    common.jsonschema = types.SimpleNamespace(validate=validate)


def install():
    reuse_compiled_templates()
    reuse_schema_validators()

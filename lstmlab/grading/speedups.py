"""Work that nbgrader repeats for every submission although it is the same each time, done once per process.

nbgrader builds a new exporter, so a new Jinja environment, for every feedback page, and so compiles the
same templates again; and it checks its own metadata schema against the JSON Schema meta-schema for every
cell of every notebook (`jsonschema.validate`). Together that was about a fifth of the grader's CPU time
per notebook. And it opens the gradebook about ten times per submission, each time with a new database
engine that inspects every table, creates the missing ones and looks the course up. `install()` keeps
the compiled templates, one validator per schema and one engine per gradebook for the process, and sets a
gradebook up only the first time the process opens it.
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


def reuse_gradebooks():
    from nbgrader import api
    from sqlalchemy.orm import scoped_session, sessionmaker
    engines = {}
    set_up = api.Gradebook.__init__

    def open_gradebook(self, db_url, course_id="default_course", authenticator=None):
        if (db_url, course_id) not in engines:  # the first time: tables, version and course as nbgrader makes them
            set_up(self, db_url, course_id, authenticator)
            engines[db_url, course_id] = self.engine
            return
        # Gradebook.close disposes of the engine's pooled connections; the engine stays usable.
        self.engine = engines[db_url, course_id]
        self.db = scoped_session(sessionmaker(autoflush=True, bind=self.engine, future=True))
        self.course_id, self.authenticator = course_id, authenticator
    api.Gradebook.__init__ = open_gradebook


def install():
    reuse_compiled_templates()
    reuse_schema_validators()
    reuse_gradebooks()

#include "model/schema.h"

#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/spec.h"

/* json_object_set_new that cannot fail quietly (jansson fails only on
 * allocation or a bad key, both programmer errors here). */
static void set(json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        abort();
}

static json_t *types(const char *const *names)
{
    json_t *a = json_array();

    for (; *names; names++)
        json_array_append_new(a, json_string(*names));
    return a;
}

static json_t *object_schema(const struct dl_field *fields, int nullable);

/* The schema of one field. */
static json_t *field_schema(const struct dl_field *f)
{
    static const char *const scalar[] = {"string", "number", NULL};
    static const char *const label[] = {"string", "number", "boolean", NULL};
    static const char *const env[] = {"string", "number", "boolean", "null",
                                      NULL};
    json_t *s = json_object(), *a;

    if (f->description)
        set(s, "description", json_string(f->description));
    switch (f->type) {
    case DL_FIELD_STRING:
    case DL_FIELD_DURATION:
    case DL_FIELD_PATTERN:
        set(s, "type", json_string("string"));
        set(s, "minLength", json_integer(1));
        break;
    case DL_FIELD_SCALAR:
        set(s, "type", types(scalar));
        set(s, "minLength", json_integer(1));
        break;
    case DL_FIELD_INT:
        set(s, "type", json_string("integer"));
        set(s, "minimum", json_integer(f->min));
        if (f->max != INT64_MAX)
            set(s, "maximum", json_integer(f->max));
        break;
    case DL_FIELD_BOOL:
        set(s, "type", json_string("boolean"));
        break;
    case DL_FIELD_ENUM:
        if (f->values[0] && !f->values[1]) {
            set(s, "const", json_string(f->values[0]));
        } else {
            set(s, "type", json_string("string"));
            set(s, "enum", types(f->values));
        }
        break;
    case DL_FIELD_LIST:
        a = json_object();
        if (f->scalar_items)
            set(a, "type", types(scalar));
        else
            set(a, "type", json_string("string"));
        set(a, "minLength", json_integer(1));
        set(s, "type", json_string("array"));
        set(s, "items", a);
        set(s, "uniqueItems", json_true());
        break;
    case DL_FIELD_OBJECT:
        json_object_update(s, a = object_schema(f->fields, 0));
        json_decref(a);
        break;
    case DL_FIELD_ENV:
        a = json_object();
        set(a, "type", types(env));
        set(s, "type", json_string("object"));
        set(s, "additionalProperties",
            json_pack("{s:[o,o]}", "oneOf", a, object_schema(f->fields, 0)));
        break;
    case DL_FIELD_LABELS:
        a = json_object();
        set(a, "type", types(label));
        set(s, "type", json_string("object"));
        set(s, "additionalProperties", a);
        break;
    case DL_FIELD_TRAFFIC:
        a = json_pack("{s:s,s:i,s:o}", "type", "array", "minItems", 1, "items",
                      object_schema(f->fields, 0));
        set(s, "oneOf", json_pack("[{s:s},o]", "const", "latest", a));
        break;
    }
    return s;
}

/* A mapping with exactly fields' keys (or null, when nullable). */
static json_t *object_schema(const struct dl_field *fields, int nullable)
{
    json_t *s = json_object(), *props = json_object(), *req = json_array();

    for (const struct dl_field *f = fields; f && f->name; f++) {
        set(props, f->name, field_schema(f));
        if (f->required)
            json_array_append_new(req, json_string(f->name));
    }
    set(s, "type",
        nullable ? json_pack("[s,s]", "object", "null")
                 : json_string("object"));
    set(s, "properties", props);
    if (json_array_size(req))
        set(s, "required", req);
    else
        json_decref(req);
    set(s, "additionalProperties", json_false());
    return s;
}

/* The whole document of kind: apiVersion, kind (const), metadata, spec. */
static json_t *kind_schema(enum dl_kind kind)
{
    json_t *s = json_object(), *props = json_object(), *req = json_array();

    set(s, "title", json_string(dl_kind_name(kind)));
    set(s, "description", json_string(dl_spec_kind_description(kind)));
    for (const struct dl_field *f = dl_spec_doc_fields(); f->name; f++) {
        json_t *p;
        int required = f->required;

        if (strcmp(f->name, "kind") == 0) {
            p = json_pack("{s:s,s:s}", "description", f->description, "const",
                          dl_kind_name(kind));
        } else if (strcmp(f->name, "spec") == 0) {
            required = dl_spec_needs_spec(kind);
            p = object_schema(dl_spec_fields(kind), !required);
            set(p, "description", json_string(f->description));
        } else if (strcmp(f->name, "metadata") == 0) {
            json_t *name;

            p = field_schema(f);
            name = json_object_get(json_object_get(p, "properties"), "name");
            assert(name);
            set(name, "description",
                json_string(dl_spec_name_description(kind)));
        } else {
            p = field_schema(f);
        }
        set(props, f->name, p);
        if (required)
            json_array_append_new(req, json_string(f->name));
    }
    set(s, "type", json_string("object"));
    set(s, "properties", props);
    set(s, "required", req);
    set(s, "additionalProperties", json_false());
    return s;
}

static json_t *schema(void)
{
    json_t *s = json_object(), *defs = json_object(), *all = json_array(),
           *props = json_object(), *req = json_array();

    set(s, "$schema", json_string("http://json-schema.org/draft-07/schema#"));
    set(s, "$id", json_string(DL_SCHEMA_ID));
    set(s, "title",
        json_string("driftless desired state (" DL_API_VERSION ")"));
    set(s, "description",
        json_string("One document of the desired state: apiVersion, kind, "
                    "metadata.name and the kind's spec. Generated by "
                    "`driftless schema`; `driftless validate` is the "
                    "authority."));
    set(s, "type", json_string("object"));
    /* The dispatch keys first, so that a document with no or an unknown
     * kind gets one clear error. */
    for (const struct dl_field *f = dl_spec_doc_fields(); f->name; f++) {
        if (f->type != DL_FIELD_ENUM)
            continue;
        set(props, f->name, field_schema(f));
        if (f->required)
            json_array_append_new(req, json_string(f->name));
    }
    set(s, "properties", props);
    set(s, "required", req);
    for (int k = 0; k < DL_KIND_COUNT; k++) {
        const char *name = dl_kind_name((enum dl_kind)k);
        char ref[128];

        snprintf(ref, sizeof(ref), "#/definitions/%s", name);
        json_array_append_new(all, json_pack("{s:{s:{s:{s:s}},s:[s]},s:{s:s}}",
                                             "if", "properties", "kind",
                                             "const", name, "required", "kind",
                                             "then", "$ref", ref));
        set(defs, name, kind_schema((enum dl_kind)k));
    }
    set(s, "allOf", all);
    set(s, "definitions", defs);
    return s;
}

int dl_model_schema_json(struct dl_buf *out, struct dl_err *err)
{
    json_t *s = schema();
    char *text = json_dumps(s, JSON_INDENT(2));
    size_t len = out->len;
    int rc = 0;

    if (!text)
        abort();
    if (dl_buf_puts(out, text) < 0 || dl_buf_putc(out, '\n') < 0) {
        dl_buf_truncate(out, len);
        rc = dl_err_set(err, DL_ELIMIT,
                        "the schema does not fit in the output buffer");
    }
    free(text);
    json_decref(s);
    return rc;
}

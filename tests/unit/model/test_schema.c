/*
 * Tests of schema.c: the JSON Schema is valid JSON, dispatches on kind to
 * one definition per kind, and says for every object exactly what the
 * validator's field tables say (keys, required keys, no others). That the
 * schema accepts the valid desired state and rejects invalid documents is
 * tests/schema/check_schema.py's job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/schema.h"
#include "model/spec.h"
#include "util/buf.h"

static json_t *load_schema(void)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;
    json_error_t jerr;
    json_t *s;

    assert_int_equal(dl_model_schema_json(&b, &err), 0);
    assert_true(b.len > 1000);
    assert_int_equal(b.ptr[b.len - 1], '\n');
    s = json_loadb(b.ptr, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!s)
        fail_msg("schema is not JSON: line %d: %s", jerr.line, jerr.text);
    dl_buf_dispose(&b);
    return s;
}

static json_t *path_get(json_t *v, const char *path)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = strtok_r(buf, "/", &save); p && v;
         p = strtok_r(NULL, "/", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(p))
                             : json_object_get(v, p);
    return v;
}

static const char *str_at(json_t *v, const char *path)
{
    return json_string_value(path_get(v, path));
}

static void test_valid_json_with_header(void **state)
{
    json_t *s = load_schema();

    (void)state;
    assert_string_equal(str_at(s, "$schema"),
                        "http://json-schema.org/draft-07/schema#");
    assert_string_equal(str_at(s, "$id"), DL_SCHEMA_ID);
    assert_string_equal(str_at(s, "properties/apiVersion/const"),
                        DL_API_VERSION);
    assert_int_equal(json_array_size(path_get(s, "properties/kind/enum")),
                     DL_KIND_COUNT);
    json_decref(s);
}

/* One definition per kind, each reached by an if/then on its kind. */
static void test_one_definition_per_kind(void **state)
{
    json_t *s = load_schema(), *all = json_object_get(s, "allOf");

    (void)state;
    assert_int_equal(json_object_size(json_object_get(s, "definitions")),
                     DL_KIND_COUNT);
    assert_int_equal(json_array_size(all), DL_KIND_COUNT);
    for (int k = 0; k < DL_KIND_COUNT; k++) {
        const char *name = dl_kind_name((enum dl_kind)k);
        json_t *branch = json_array_get(all, (size_t)k), *def;
        char ref[128], path[160];

        snprintf(path, sizeof(path), "definitions/%s", name);
        def = path_get(s, path);
        assert_non_null(def);
        assert_string_equal(str_at(def, "properties/kind/const"), name);
        assert_string_equal(str_at(def, "properties/apiVersion/const"),
                            DL_API_VERSION);
        assert_string_equal(str_at(branch, "if/properties/kind/const"), name);
        snprintf(ref, sizeof(ref), "#/definitions/%s", name);
        assert_string_equal(str_at(branch, "then/$ref"), ref);
        assert_true(
            json_is_false(json_object_get(def, "additionalProperties")));
        assert_non_null(str_at(def, "description"));
        assert_non_null(str_at(def, "properties/metadata/properties/name/"
                                    "description"));
    }
    json_decref(s);
}

static int in_array(json_t *a, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* An object schema has exactly the table's keys and required keys, and
 * refuses others; recursively for nested objects. */
static void check_object(json_t *obj, const struct dl_field *t,
                         const char *where)
{
    json_t *props = json_object_get(obj, "properties");
    json_t *req = json_object_get(obj, "required");
    size_t n = 0, n_req = 0;

    assert_true(json_is_false(json_object_get(obj, "additionalProperties")));
    for (; t->name; t++, n++) {
        json_t *p = json_object_get(props, t->name);

        if (!p)
            fail_msg("%s: no property '%s'", where, t->name);
        assert_non_null(json_object_get(p, "description"));
        assert_int_equal(in_array(req, t->name), t->required);
        n_req += (size_t)t->required;
        if (t->type == DL_FIELD_OBJECT)
            check_object(p, t->fields, t->name);
        else if (t->type == DL_FIELD_ENV)
            check_object(path_get(p, "additionalProperties/oneOf/1"), t->fields,
                         t->name);
        else if (t->type == DL_FIELD_TRAFFIC)
            check_object(path_get(p, "oneOf/1/items"), t->fields, t->name);
        else if (t->type == DL_FIELD_ENUM)
            for (size_t i = 0; t->values[i]; i++)
                assert_true(in_array(json_object_get(p, "enum"), t->values[i]));
    }
    assert_int_equal(json_object_size(props), n);
    assert_int_equal(json_array_size(req), n_req);
}

static void test_specs_match_the_tables(void **state)
{
    json_t *s = load_schema();

    (void)state;
    for (int k = 0; k < DL_KIND_COUNT; k++) {
        char path[160];
        json_t *def, *spec;

        snprintf(path, sizeof(path), "definitions/%s",
                 dl_kind_name((enum dl_kind)k));
        def = path_get(s, path);
        spec = path_get(def, "properties/spec");
        check_object(spec, dl_spec_fields((enum dl_kind)k),
                     dl_kind_name((enum dl_kind)k));
        assert_int_equal(in_array(json_object_get(def, "required"), "spec"),
                         dl_spec_needs_spec((enum dl_kind)k));
        /* A Project's spec may be empty (null); the others' may not. */
        assert_int_equal(json_is_array(json_object_get(spec, "type")),
                         k == DL_KIND_PROJECT);
        assert_true(in_array(json_object_get(def, "required"), "metadata"));
        check_object(path_get(def, "properties/metadata"),
                     dl_spec_doc_fields()[2].fields, "metadata");
    }
    json_decref(s);
}

/* Spot checks of what editors show most. */
static void test_enums_ranges_and_traffic(void **state)
{
    json_t *s = load_schema();
    const char *run = "definitions/CloudRunService/properties/spec/properties";
    char path[256];
    json_t *v;

    (void)state;
    snprintf(path, sizeof(path), "%s/mode/enum", run);
    v = path_get(s, path);
    assert_int_equal(json_array_size(v), 2);
    assert_true(in_array(v, "enforce") && in_array(v, "report"));
    v = path_get(s, "definitions/StorageBucketPolicy/properties/spec/"
                    "properties/whenEmpty/enum");
    assert_int_equal(json_array_size(v), 2);
    assert_true(in_array(v, "report") && in_array(v, "delete"));
    snprintf(path, sizeof(path), "%s/traffic/oneOf/0/const", run);
    assert_string_equal(str_at(s, path), "latest");
    snprintf(path, sizeof(path), "%s/traffic/oneOf/1/minItems", run);
    assert_int_equal(json_integer_value(path_get(s, path)), 1);
    snprintf(path, sizeof(path), "%s/concurrency/minimum", run);
    assert_int_equal(json_integer_value(path_get(s, path)), 1);
    snprintf(path, sizeof(path), "%s/concurrency/maximum", run);
    assert_int_equal(json_integer_value(path_get(s, path)), 1000);
    snprintf(path, sizeof(path), "%s/concurrency/type", run);
    assert_string_equal(str_at(s, path), "integer");
    /* No upper bound is written for uncapped counts. */
    assert_null(path_get(s, "definitions/FirestoreCollectionPolicy/"
                            "properties/spec/properties/maxDocuments/"
                            "maximum"));
    snprintf(path, sizeof(path), "%s/resources/properties/cpu/type/1", run);
    assert_string_equal(str_at(s, path), "number");
    json_decref(s);
}

static void test_cap(void **state)
{
    struct dl_buf b = DL_BUF_INIT(64);
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_buf_puts(&b, "kept"), 0);
    assert_int_equal(dl_model_schema_json(&b, &err), DL_ELIMIT);
    assert_int_equal(err.code, DL_ELIMIT);
    assert_string_equal(dl_buf_cstr(&b), "kept");
    dl_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_json_with_header),
        cmocka_unit_test(test_one_definition_per_kind),
        cmocka_unit_test(test_specs_match_the_tables),
        cmocka_unit_test(test_enums_ranges_and_traffic),
        cmocka_unit_test(test_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * yaml2json.c - test helper: print the documents of a YAML file as a JSON
 * array, read with the desired-state loader (model/yaml.h) and typed the
 * way editors type YAML (the YAML 1.2 core schema: plain null, true/false,
 * integers and floats; everything else, and anything quoted, a string).
 * Empty documents are left out, as dl_model_load leaves them out. The schema
 * test feeds its output to a small JSON Schema validator.
 *
 * Usage: dl-yaml2json FILE. Exit 0, or 1 when the file cannot be read or
 * is not valid YAML for the loader (its diagnostics on stderr).
 */
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/diag.h"
#include "model/model.h"
#include "model/yaml.h"
#include "util/buf.h"

static regex_t re_bool, re_int, re_oct, re_hex, re_float;

static int matches(const regex_t *re, const char *s)
{
    return regexec(re, s, 0, NULL, 0) == 0;
}

static json_t *scalar(const struct dl_ynode *n)
{
    if (!n->plain || n->len != strlen(n->str))
        return json_stringn(n->str, n->len);
    if (dl_ynode_is_null(n))
        return json_null();
    if (matches(&re_bool, n->str))
        return json_boolean(n->str[0] == 't' || n->str[0] == 'T');
    if (matches(&re_int, n->str) || matches(&re_oct, n->str) ||
        matches(&re_hex, n->str)) {
        const char *p = n->str;
        int base = 10;

        if (strncmp(p, "0o", 2) == 0)
            p += 2, base = 8;
        else if (strncmp(p, "0x", 2) == 0)
            p += 2, base = 16;
        return json_integer(strtoll(p, NULL, base));
    }
    if (matches(&re_float, n->str))
        return json_real(strtod(n->str, NULL));
    return json_stringn(n->str, n->len);
}

static json_t *convert(const struct dl_ynode *n)
{
    json_t *v;

    switch (n->type) {
    case DL_YNODE_SEQ:
        v = json_array();
        for (size_t i = 0; i < n->n_items; i++)
            json_array_append_new(v, convert(n->items[i]));
        return v;
    case DL_YNODE_MAP:
        v = json_object();
        for (size_t i = 0; i < n->n_pairs; i++)
            json_object_set_new(v, n->pairs[i].key->str,
                                convert(n->pairs[i].val));
        return v;
    case DL_YNODE_SCALAR:
        break;
    }
    return scalar(n);
}

int main(int argc, char **argv)
{
    struct dl_buf text = DL_BUF_INIT(DL_MODEL_MAX_FILE_SIZE);
    struct dl_yfile *yf = NULL;
    struct dl_diags diags;
    json_t *docs = json_array();
    char chunk[4096], *out;
    size_t r;
    FILE *f;
    int rc = 1;

    dl_diags_init(&diags);
    if (argc != 2) {
        fprintf(stderr, "usage: dl-yaml2json FILE\n");
        goto done;
    }
    regcomp(&re_bool, "^(true|True|TRUE|false|False|FALSE)$", REG_EXTENDED);
    regcomp(&re_int, "^[-+]?[0-9]{1,18}$", REG_EXTENDED);
    regcomp(&re_oct, "^0o[0-7]{1,18}$", REG_EXTENDED);
    regcomp(&re_hex, "^0x[0-9a-fA-F]{1,15}$", REG_EXTENDED);
    regcomp(&re_float,
            "^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$",
            REG_EXTENDED);
    if (!(f = fopen(argv[1], "rb"))) {
        fprintf(stderr, "dl-yaml2json: cannot open '%s'\n", argv[1]);
        goto done;
    }
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (dl_buf_put(&text, chunk, r) < 0)
            break;
    fclose(f);
    if (dl_yaml_parse(&yf, argv[1], dl_buf_cstr(&text), text.len, &diags)) {
        dl_diags_print_text(&diags, stderr);
        goto done;
    }
    for (size_t i = 0; i < yf->n_docs; i++)
        if (!dl_ynode_is_null(yf->docs[i].root))
            json_array_append_new(docs, convert(yf->docs[i].root));
    out = json_dumps(docs, JSON_INDENT(2));
    puts(out);
    free(out);
    rc = 0;
done:
    if (argc == 2) {
        regfree(&re_bool);
        regfree(&re_int);
        regfree(&re_oct);
        regfree(&re_hex);
        regfree(&re_float);
    }
    json_decref(docs);
    dl_yaml_file_free(yf);
    dl_diags_dispose(&diags);
    dl_buf_dispose(&text);
    return rc;
}

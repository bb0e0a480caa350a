/*
 * yaml_check FILE... - parse every YAML document of each FILE with libyaml
 * (the parser driftless itself uses) and print, per file, the top-level
 * keys of its first document: "FILE: key key ...". Exit 1 on the first
 * file that does not parse ("FILE:LINE:COL: problem"), is empty, or whose
 * first document is not a mapping.
 */
#include <stdio.h>
#include <yaml.h>

static int check(const char *path)
{
    FILE *f = fopen(path, "rb");
    yaml_parser_t p;
    yaml_document_t doc;
    int ndocs = 0, rc = 0;

    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    for (;;) {
        yaml_node_t *root;

        if (!yaml_parser_load(&p, &doc)) {
            fprintf(stderr, "%s:%zu:%zu: %s\n", path, p.problem_mark.line + 1,
                    p.problem_mark.column + 1,
                    p.problem ? p.problem : "invalid YAML");
            rc = 1;
            break;
        }
        root = yaml_document_get_root_node(&doc);
        if (!root) {
            yaml_document_delete(&doc);
            break;
        }
        if (ndocs++ == 0) {
            if (root->type != YAML_MAPPING_NODE) {
                fprintf(stderr, "%s: the document is not a mapping\n", path);
                rc = 1;
            } else {
                printf("%s:", path);
                for (yaml_node_pair_t *kv = root->data.mapping.pairs.start;
                     kv < root->data.mapping.pairs.top; kv++) {
                    yaml_node_t *k = yaml_document_get_node(&doc, kv->key);

                    if (k && k->type == YAML_SCALAR_NODE)
                        printf(" %s", (const char *)k->data.scalar.value);
                }
                printf("\n");
            }
        }
        yaml_document_delete(&doc);
        if (rc)
            break;
    }
    if (!rc && ndocs == 0) {
        fprintf(stderr, "%s: no YAML document\n", path);
        rc = 1;
    }
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: yaml_check FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        rc |= check(argv[i]);
    return rc;
}

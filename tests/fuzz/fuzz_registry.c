/* fuzz_registry: libFuzzer target for tvsync-cdc's registry reader (cdc/registry.c) and the
 * watch paths in it (cdc/watch_path.c): any byte string is refused or read, and every
 * entity's diff statement is built; the input as one watch path is judged the same way by
 * the validator and the reader of match keys; never a crash, a leak or a time beyond linear. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/apply_sql.h"
#include "cdc/registry.h"
#include "cdc/watch_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    registry reg;
    char error[256];
    strbuf sql = STRBUF_INIT;
    if (registry_from_json((const char *) data, size, &reg, error, sizeof error)) {
        for (size_t r = 0; r < reg.entity_count; r++)
            apply_sql_diff(&sql, reg.build_functions[r], reg.tv_tables[r], reg.key_types[r], r, true,
                           reg.nested_changed[r]);
        registry_free(&reg);
    }

    char *path = malloc(size + 1);
    if (!path)
        return 0;
    memcpy(path, data, size);
    path[size] = '\0';
    bool nested;
    char *key = watch_path_match_key(path, &nested);
    if (nested && !watch_path_valid(path))
        __builtin_trap();   /* only a well-formed path is nested */
    if (nested) {
        const char *const paths[1] = {path};
        strbuf_reset(&sql);
        watch_path_append_changed(&sql, paths, 1, "d.new", "d.old");
    }
    free(key);
    free(path);
    strbuf_free(&sql);
    return 0;
}

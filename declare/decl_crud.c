/* decl_crud: the CRUD functions of @entity(crud: true) types (decl_sql.h states the contract).
 * A placeholder that generates nothing, so the generator links until the real module lands. */
#include "config.h"

#include "declare/decl_sql.h"

void decl_sql_crud(const decl_model *model, const decl_catalog *catalog, decl_objects *out)
{
    (void) model;
    (void) catalog;
    (void) out;
}

#!/bin/bash
# shop_upgrade.sh: a shop installed before tags (001-003, seeded, slot created, tvsync-cdc
# running) takes 004-005 with tvsync-migrate up: the product documents are rebuilt with their
# tags and the tag read model is built without a new slot, the generated link function's
# intents reach both documents, and the read models equal a full rebuild.
set -u
. "$TVSYNC_SRCDIR/tests/integration/cdc_lib.sh"

SHOP="$TVSYNC_SRCDIR/examples/shop"
WORK=$(mktemp -d /tmp/tvsync-shop-upgrade.XXXXXX)
# The set is named after its folder: the old files under a folder named shop are the same set.
OLD="$WORK/shop"
mkdir "$OLD"
cp "$SHOP"/001_*.sql "$SHOP"/002_*.sql "$SHOP"/003_*.sql "$OLD"/
pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit "rm -rf '$WORK'"
cdc_kill_on_exit
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" "$@"
}

migrate --dir "$OLD" up >/dev/null 2>&1 || { echo "migrate of the shop before tags failed"; exit 1; }
pgcluster_psql >/dev/null <<'SQL' || { echo "seeding failed"; exit 1; }
INSERT INTO shop.tb_customer (id, name, email) VALUES ('C-1001', 'Ada Lovelace', 'ada@example.com');
INSERT INTO shop.tb_product (id, sku, name, price) VALUES (1, 'TEA-01', 'Green tea', 24.50), (2, 'MUG-01', 'Mug', 9.99);
INSERT INTO shop.tb_order (id, customer_id) VALUES (9007199254740993, 'C-1001');
INSERT INTO shop.tb_order_line (order_id, product_id, quantity, unit_price) VALUES (9007199254740993, 1, 2, 24.50);
SQL
cdc_create_slot || { echo "slot create failed"; exit 1; }
cdc_start || exit 1
assert_eq "f" "$(pgcluster_psql -c "SELECT bool_or(data ? 'tags') FROM shop.tv_product")" \
    "before the upgrade, product documents have no tags"

assert_exit 0 "tvsync-migrate up applies 004-005 to the running shop" -- migrate --dir "$SHOP" up
products_have_tags() {
    [ "$(pgcluster_psql -c "SELECT count(*) FILTER (WHERE data->'tags' = '[]') FROM shop.tv_product")" = 2 ]
}
assert_exit 0 "the product documents are rebuilt with their (empty) tags" -- wait_for 30 products_have_tags

# A tag and a link through the generated functions, as tvsync-server calls them.
lsn=$(pgcluster_psql -c "SET ROLE tvsync_app" \
    -c "SELECT publish_lsn FROM tvsync.finish_mutation(shop.create_tag('{\"input\": {\"id\": \"7\", \"name\": \"tea\"}}'))" \
    -c "SELECT publish_lsn FROM tvsync.finish_mutation(shop.link_tag_products('{\"id\": \"7\", \"targetId\": \"1\"}'))" | tail -n1)
assert_exit 0 "tvsync-cdc applies the link" -- cdc_wait_lsn "$lsn"
assert_eq '[{"id": "7", "name": "tea"}]|[{"id": "1", "sku": "TEA-01", "name": "Green tea"}]|1' \
    "$(pgcluster_psql -c "SELECT p.data->>'tags', t.data->>'products', t.data->>'productCount'
                          FROM shop.tv_product p, shop.tv_tag t WHERE p.id = 1 AND t.id = 7")" \
    "the link reaches the product's and the tag's documents"
assert_exit 0 "tvsync-migrate verify: the read models equal a full rebuild" -- migrate --dir "$SHOP" verify

test_summary

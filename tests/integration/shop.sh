#!/bin/bash
# shop.sh: the shop example (examples/shop) end to end with the real binaries: the engine
# and the shop's migration set, its seed, the slot, tvsync-cdc and tvsync-server with the
# shop's schema.graphql. Mutations through HTTP (an order with lines, a changed quantity, a
# line moved to another order, renames, a delete) are read back at once with exact money
# (24.50 stays 24.50) and order ids above 2^53 with every digit; the cascades reach the
# customers and products that count lines and the orders that embed names; afterwards the
# read models equal a full rebuild. The declared product and tag documents (tags through
# tb_product_tag) follow the generated link/unlink/rename/delete mutations, the products and
# tags lists take derived filters, and generate finds 005_generated.sql and 006_generated.sql up to date.
set -u
. "$TVSYNC_SRCDIR/tests/lib/assert.sh"
. "$TVSYNC_SRCDIR/tests/lib/pgcluster.sh"
. "$TVSYNC_SRCDIR/tests/integration/server_lib.sh"

SHOP="$TVSYNC_SRCDIR/examples/shop"
ADA_ORDER=9007199254740993
GRACE_ORDER=9007199254740994
SERVER_SCHEMA="$SHOP/schema.graphql"
pgcluster_start || { echo "starting PostgreSQL failed"; exit 1; }
pgcluster_on_exit server_lib_cleanup
pgcluster_on_exit '[ -n "${CDC_PID:-}" ] && kill "$CDC_PID" 2>/dev/null && wait "$CDC_PID" 2>/dev/null; rm -f "${CDC_LOG:-}"'
migrate() {
    "$TVSYNC_BUILDDIR/migrations/tvsync-migrate" --database "$TVSYNC_DATABASE_URL" "$@"
}

# tvsync-migrate applies the engine's set, then the shop's.
assert_exit 0 "tvsync-migrate up applies the engine and the shop's set" -- migrate --dir "$SHOP" up
assert_eq "customer text|order bigint|product integer" \
    "$(pgcluster_psql -c "SELECT string_agg(name || ' ' || key_type::text, '|' ORDER BY name) FROM tvsync.entity
                          WHERE name IN ('customer', 'product', 'order')")" \
    "the shop's entities have text, integer and bigint keys"
assert_exit 0 "tvsync-migrate seed FILE loads the shop's data" -- migrate seed "$SHOP/seed.sql"
"$TVSYNC_BUILDDIR/slot/tvsync-slot" --database "$TVSYNC_DATABASE_URL" create >/dev/null 2>&1 || { echo "slot create failed"; exit 1; }
assert_eq "58.99|24.50" \
    "$(pgcluster_psql -c "SELECT data->>'total', data->'lines'->0->>'unitPrice' FROM shop.tv_order WHERE id = 9007199254740993")" \
    "tvsync-slot create built the orders' documents with exact money"

# The mutation functions' answers, called as tvsync-server's role, each in a transaction
# that is rolled back: the first failing check's message, or ok with the order's intent.
answer() {
    pgcluster_psql -c "SET ROLE tvsync_app" -c "BEGIN" \
        -c "SELECT concat_ws(' | ', status, coalesce(message, '-'), entity, coalesce(id, '-'), sync::text) FROM $1('$2')" -c "ROLLBACK"
}
assert_eq "validation_failed | lines[1]: productId 99: no such product | order | - | []" \
    "$(answer shop.create_order '{"customerId": "C-1001", "lines": [{"productId": "1", "quantity": 1}, {"productId": "99", "quantity": 1}]}')" \
    "createOrder names the line whose product is missing"
assert_eq "validation_failed | lines[0]: unitPrice must have at most 2 digits after the decimal point | order | - | []" \
    "$(answer shop.create_order '{"customerId": "C-1001", "lines": [{"productId": "1", "quantity": 1, "unitPrice": "1.005"}]}')" \
    "createOrder refuses a price with three decimals"
assert_eq "validation_failed | customerId C-9: no such customer | order | - | []" \
    "$(answer shop.create_order '{"customerId": "C-9", "lines": [{"productId": "1", "quantity": 1}]}')" \
    "createOrder refuses a missing customer (a text key)"
assert_eq "validation_failed | orderId 18446744073709551616 is not a valid bigint | order | - | []" \
    "$(answer shop.set_order_line '{"orderId": "18446744073709551616", "productId": "1", "quantity": 1}')" \
    "setOrderLine refuses an order id past bigint"
assert_eq "not_found | order $ADA_ORDER has no line for product 3 | order | $GRACE_ORDER | []" \
    "$(answer shop.move_order_line "{\"orderId\": \"$ADA_ORDER\", \"productId\": \"3\", \"toOrderId\": \"$GRACE_ORDER\"}")" \
    "moveOrderLine of a line the order does not have"
assert_eq "ok | - | order | $ADA_ORDER | [{\"ids\": [\"$ADA_ORDER\"], \"entity\": \"order\"}]" \
    "$(answer shop.set_order_line "{\"orderId\": \"$ADA_ORDER\", \"productId\": \"3\", \"quantity\": 2}")" \
    "setOrderLine publishes its order (the cascades reach the product and the customer)"

CDC_LOG=$(mktemp /tmp/tvsync-cdc-log.XXXXXX)
"$TVSYNC_BUILDDIR/cdc/tvsync-cdc" --database "$TVSYNC_DATABASE_URL" --metrics-listen 127.0.0.1:0 >"$CDC_LOG" 2>&1 &
CDC_PID=$!
server_start --set server.sync_wait_timeout_ms=10000 || { echo "server did not start"; exit 1; }

# Reads: numbers and ids as the documents hold them (compared as raw text: jq would read
# them as doubles).
out=$(gql_query "{ order(id: \"$ADA_ORDER\") { id total customer { id name } lines { productId quantity unitPrice amount } } }")
assert_eq "{\"data\":{\"order\":{\"id\":\"$ADA_ORDER\",\"total\":58.99,\"customer\":{\"id\":\"C-1001\",\"name\":\"Ada Lovelace\"},\"lines\":[{\"productId\":\"1\",\"quantity\":2,\"unitPrice\":24.50,\"amount\":49.00},{\"productId\":\"2\",\"quantity\":1,\"unitPrice\":9.99,\"amount\":9.99}]}}}" \
    "$out" "order(id) above 2^53: every digit of the id, money as stored (24.50, 49.00)"
out=$(gql_query '{ product(id: "3") { sku price } customer(id: "C-1002") { totalSpent orderCount } }')
assert_eq '{"data":{"product":{"sku":"POT-01","price":120.00},"customer":{"totalSpent":120.00,"orderCount":1}}}' "$out" \
    "product(id) by an integer key and customer(id) by a text key"

# Money compares as numbers in list filters and orderBy (as text, "9.99" > "10").
out=$(gql_query '{ products(where: {price: {gt: "10"}}, orderBy: [{field: price, direction: DESC}]) { sku price } }')
assert_eq '{"data":{"products":[{"sku":"POT-01","price":120.00},{"sku":"TEA-01","price":24.50}]}}' "$out" \
    "a Decimal filter and orderBy compare prices as numbers"

# createOrder: a new bigint id from the sequence (past 2^53), lines priced as sent or from
# the product.
out=$(gql_query 'mutation { createOrder(customerId: "C-1002", note: "Second", lines: [{productId: "1", quantity: 3, unitPrice: "24.50"}, {productId: "2", quantity: 1}]) { id total itemCount lines { product { name } amount } } }' | without_token)
NEW_ORDER=$(grep -o '"id":"[0-9]*"' <<<"$out" | head -1 | grep -o '[0-9]*')
assert_eq "9007199254740995" "${NEW_ORDER:-none}" "createOrder answers the new order's id with every digit"
assert_contains "$out" '"total":83.49,"itemCount":4,"lines":[{"product":{"name":"Green tea"},"amount":73.50},{"product":{"name":"Mug"},"amount":9.99}]' \
    "createOrder reads its own write: lines, amounts and total exact"
out=$(gql_query '{ product(id: "1") { orderCount unitsSold } customer(id: "C-1002") { orderCount totalSpent } }')
assert_eq '{"data":{"product":{"orderCount":2,"unitsSold":5},"customer":{"orderCount":2,"totalSpent":203.49}}}' "$out" \
    "the product's counts and the customer's total follow the new lines (cascades order -> product, order -> customer)"

# setOrderLine: a changed quantity.
out=$(gql_query "mutation { setOrderLine(orderId: \"$NEW_ORDER\", productId: \"1\", quantity: 1) { total lines { quantity amount } } }" | without_token)
assert_eq '{"data":{"setOrderLine":{"total":34.49,"lines":[{"quantity":1,"amount":24.50},{"quantity":1,"amount":9.99}]}}}' "$out" \
    "setOrderLine changes a quantity; the order's total follows"
out=$(gql_query '{ product(id: "1") { unitsSold } }')
assert_eq '{"data":{"product":{"unitsSold":3}}}' "$out" "the product's unitsSold follows a changed quantity"
out=$(gql_query "mutation { setOrderLine(orderId: \"$NEW_ORDER\", productId: \"1\", quantity: 0) { total } }" | without_token)
assert_eq "VALIDATION_FAILED|quantity must be at least 1" "$(jq -r '.errors[0] | "\(.extensions.code)|\(.message)"' <<<"$out")" \
    "a quantity below 1 is a validation error from tvsync.integer_problem"
out=$(gql_query '{ product(id: "1") { unitsSold } }')
assert_eq '{"data":{"product":{"unitsSold":3}}}' "$out" "the refused write changed nothing"

# moveOrderLine: the line's composite key changes order; both orders, both customers and
# the product follow.
out=$(gql_query "mutation { moveOrderLine(orderId: \"$NEW_ORDER\", productId: \"2\", toOrderId: \"$GRACE_ORDER\") { id total lineCount } }" | without_token)
assert_eq "{\"data\":{\"moveOrderLine\":{\"id\":\"$GRACE_ORDER\",\"total\":129.99,\"lineCount\":2}}}" "$out" \
    "moveOrderLine answers the order the line moved to"
out=$(gql_query "{ order(id: \"$NEW_ORDER\") { total lineCount } product(id: \"2\") { orderCount unitsSold } customer(id: \"C-1002\") { totalSpent } }")
assert_eq '{"data":{"order":{"total":24.50,"lineCount":1},"product":{"orderCount":2,"unitsSold":2},"customer":{"totalSpent":154.49}}}' \
    "$out" "the order the line left loses it; the product's counts and the customer's total are right"

# Renames reach the documents that embed the name.
gql_query 'mutation { updateProduct(id: "1", name: "Sencha") { name } }' >/dev/null
out=$(gql_query "{ order(id: \"$ADA_ORDER\") { lines { product { name } } } }")
assert_eq '{"data":{"order":{"lines":[{"product":{"name":"Sencha"}},{"product":{"name":"Mug"}}]}}}' "$out" \
    "renaming a product updates the orders embedding it (cascade product -> order)"
gql_query 'mutation { updateCustomer(id: "C-1001", name: "Ada King") { name } }' >/dev/null
out=$(gql_query '{ orders(where: {customer: {id: {eq: "C-1001"}}}) { id customer { name } } }')
assert_eq "{\"data\":{\"orders\":[{\"id\":\"$ADA_ORDER\",\"customer\":{\"name\":\"Ada King\"}}]}}" "$out" \
    "renaming a customer updates their orders (cascade customer -> order), found by a list filter"

# deleteOrder: the document goes; its old lines, read from it, reach the products.
out=$(gql_query "mutation { deleteOrder(id: \"$NEW_ORDER\") }" | without_token)
assert_eq "{\"data\":{\"deleteOrder\":\"$NEW_ORDER\"}}" "$out" "deleteOrder answers the id with every digit"
out=$(gql_query "{ order(id: \"$NEW_ORDER\") { id } product(id: \"1\") { orderCount unitsSold } customer(id: \"C-1002\") { orderCount totalSpent } }")
assert_eq '{"data":{"order":null,"product":{"orderCount":1,"unitsSold":2},"customer":{"orderCount":1,"totalSpent":129.99}}}' "$out" \
    "after deleteOrder the product's counts and the customer's total drop"

# ---------------------------------------------------------------- tags (declared read models)
# Product and Tag are declared in schema.graphql; 005_generated.sql is tvsync-migrate
# generate's output for it. A product lists its tags and a tag its products, through the
# association table tb_product_tag; linkTagProducts/unlinkTagProducts, createTag, updateTag
# and deleteTag are the generated CRUD functions.
out=$(gql_query '{ product(id: "3") { sku tags { id name } } tag(id: "2") { name productCount products { sku name } } }')
assert_eq '{"data":{"product":{"sku":"POT-01","tags":[{"id":"2","name":"ceramic"},{"id":"3","name":"gift"}]},"tag":{"name":"ceramic","productCount":2,"products":[{"sku":"MUG-01","name":"Mug"},{"sku":"POT-01","name":"Teapot"}]}}}' \
    "$out" "tvsync-slot create built the declared documents: a product's tags, a tag's products and count"
out=$(gql_query 'mutation { linkTagProducts(id: "1", targetId: "2") { name productCount products { sku } } }' | without_token)
assert_eq '{"data":{"linkTagProducts":{"name":"tea","productCount":2,"products":[{"sku":"MUG-01"},{"sku":"TEA-01"}]}}}' \
    "$out" "linkTagProducts answers the tag with the new product (read your writes)"
out=$(gql_query '{ product(id: "2") { tags { name } } }')
assert_eq '{"data":{"product":{"tags":[{"name":"ceramic"},{"name":"tea"}]}}}' "$out" \
    "a link reaches the product's document too (the link function publishes both)"
out=$(gql_query 'mutation { unlinkTagProducts(id: "3", targetId: "1") { productCount products { sku } } }' | without_token)
assert_eq '{"data":{"unlinkTagProducts":{"productCount":1,"products":[{"sku":"POT-01"}]}}}' "$out" \
    "unlinkTagProducts removes the product from the tag's document"
out=$(gql_query '{ product(id: "1") { tags { name } } }')
assert_eq '{"data":{"product":{"tags":[{"name":"tea"}]}}}' "$out" "and the tag from the product's document"
out=$(gql_query 'mutation { linkTagProducts(id: "1", targetId: "99") { name } }' | without_token)
assert_eq "VALIDATION_FAILED|targetId 99: no such product" "$(jq -r '.errors[0] | "\(.extensions.code)|\(.message)"' <<<"$out")" \
    "linking a missing product is a validation error (the foreign key)"
out=$(gql_query 'mutation { createTag(input: {name: "tea"}) { id } }' | without_token)
assert_eq "CONFLICT|input.name: another tag has this value" "$(jq -r '.errors[0] | "\(.extensions.code)|\(.message)"' <<<"$out")" \
    "createTag with a name in use is a conflict (the UNIQUE constraint)"

# A rename through @many(through:): every product that lists the tag follows (cascade tag -> product).
out=$(gql_query 'mutation { updateTag(id: "2", patch: {name: "stoneware"}) { name productCount } }' | without_token)
assert_eq '{"data":{"updateTag":{"name":"stoneware","productCount":2}}}' "$out" "updateTag renames a tag"
out=$(gql_query '{ products(where: {id: {in: ["2", "3"]}}, orderBy: [{field: sku}]) { sku tags { name } } }')
assert_eq '{"data":{"products":[{"sku":"MUG-01","tags":[{"name":"stoneware"},{"name":"tea"}]},{"sku":"POT-01","tags":[{"name":"gift"},{"name":"stoneware"}]}]}}' \
    "$out" "the new name reaches every product that lists the tag"
# ... and a product's rename reaches the tags that list it (cascade product -> tag).
gql_query 'mutation { updateProduct(id: "2", name: "Tea mug") { name } }' >/dev/null
out=$(gql_query '{ tag(id: "2") { products { name } } }')
assert_eq '{"data":{"tag":{"products":[{"name":"Tea mug"},{"name":"Teapot"}]}}}' "$out" \
    "a product renamed by a hand-written mutation reaches the tags that list it"

# A tag deleted while in use: its links go with it (ON DELETE CASCADE); the products that
# listed it are found in their documents (the cascade's old half).
out=$(gql_query 'mutation { createTag(input: {name: "sale"}) { id name productCount } }' | without_token)
SALE=$(jq -r '.data.createTag.id' <<<"$out")
assert_eq '{"data":{"createTag":{"id":"'"$SALE"'","name":"sale","productCount":0}}}' "$out" "createTag answers the new tag"
gql_query "mutation { linkTagProducts(id: \"$SALE\", targetId: \"3\") { name } }" >/dev/null
out=$(gql_query "mutation { deleteTag(id: \"$SALE\") }" | without_token)
assert_eq "{\"data\":{\"deleteTag\":\"$SALE\"}}" "$out" "deleteTag of a tag in use answers its id"
out=$(gql_query "{ tag(id: \"$SALE\") { id } product(id: \"3\") { tags { name } } }")
assert_eq '{"data":{"tag":null,"product":{"tags":[{"name":"gift"},{"name":"stoneware"}]}}}' "$out" \
    "the deleted tag leaves the product that listed it"

# Derived list arguments of the declared types (the file writes no where/orderBy for them).
out=$(gql_query '{ products(where: {name: {startsWith: "Tea"}}, orderBy: [{field: price, direction: DESC}]) { sku price } }')
assert_eq '{"data":{"products":[{"sku":"POT-01","price":120.00},{"sku":"MUG-01","price":9.99}]}}' "$out" \
    "products: a derived StringFilter with a derived orderBy on a Decimal"
out=$(gql_query '{ products(where: {OR: [{unitsSold: {gte: 2}}, {sku: {eq: "POT-01"}}]}, orderBy: [{field: sku}], limit: 1, offset: 1) { sku } }')
assert_eq '{"data":{"products":[{"sku":"POT-01"}]}}' "$out" "products: derived OR over an aggregate, with limit and offset"
out=$(gql_query '{ tags(where: {productCount: {gte: 2}}, orderBy: [{field: name}]) { name productCount } }')
assert_eq '{"data":{"tags":[{"name":"stoneware","productCount":2},{"name":"tea","productCount":2}]}}' "$out" \
    "tags: a derived IntFilter on a @count"

# The committed 005_generated.sql and 006_generated.sql are what generate writes for schema.graphql today.
GEN_DIR=$(mktemp -d /tmp/tvsync-shop-gen.XXXXXX)
pgcluster_on_exit "rm -rf '$GEN_DIR'"
cp "$SHOP"/0*.sql "$GEN_DIR"/
assert_eq "nothing changed" "$(migrate generate --schema "$SHOP/schema.graphql" --dir "$GEN_DIR" 2>&1)" \
    "a second generate over the shop's set says nothing changed"
assert_eq "$(ls "$SHOP"/0*.sql | wc -l)" "$(ls "$GEN_DIR" | wc -l)" "and writes nothing"

# Concurrent writers: orders, line edits and tag links from eight clients at once, on the
# same products, customers and tag (their counts are built from rows other requests write).
concurrent_body() {
    case $(($1 % 4)) in
    0) echo "{\"query\":\"mutation { createOrder(customerId: \\\"C-1001\\\", lines: [{productId: \\\"2\\\", quantity: 1}, {productId: \\\"3\\\", quantity: 2}]) { id } }\"}" ;;
    1) echo "{\"query\":\"mutation { createOrder(customerId: \\\"C-1002\\\", lines: [{productId: \\\"2\\\", quantity: 3}]) { id } }\"}" ;;
    2) echo "{\"query\":\"mutation { setOrderLine(orderId: \\\"$ADA_ORDER\\\", productId: \\\"3\\\", quantity: $1) { id } }\"}" ;;
    3) [ $(($1 / 4 % 2)) = 1 ] && verb=link || verb=unlink
       echo "{\"query\":\"mutation { ${verb}TagProducts(id: \\\"1\\\", targetId: \\\"3\\\") { id } }\"}" ;;
    esac
}
export -f concurrent_body
export SERVER_URL ADA_ORDER
# One write per answer, so that the answers of parallel clients do not interleave.
seq 1 80 | xargs -P 8 -I{} bash -c 'printf "%s\n" "$(curl -s --max-time 60 -H "Content-Type: application/json" \
    --data-binary "$(concurrent_body {})" "$SERVER_URL")"' >"$PGCLUSTER_DIR/concurrent.out"
assert_eq 80 "$(grep -c . "$PGCLUSTER_DIR/concurrent.out")" "80 concurrent mutations were answered"
assert_eq "" "$(without_token <"$PGCLUSTER_DIR/concurrent.out" |
                grep -v -E '^\{"data":\{"[a-zA-Z]*":\{"id":"(9007199254[0-9]*|1)"\}\}\}$')" \
    "each answered its order or tag, none an error"
out=$(gql_query '{ product(id: "2") { orderCount } customer(id: "C-1002") { orderCount } }')
assert_eq "$(pgcluster_psql -c "SELECT '{\"data\":{\"product\":{\"orderCount\":' || (SELECT count(*) FROM shop.tb_order_line WHERE product_id = 2)
                                || '},\"customer\":{\"orderCount\":' || (SELECT count(*) FROM shop.tb_order WHERE customer_id = 'C-1002') || '}}}'")" \
    "$out" "after them, the counts in the documents are the counts of the rows"
out=$(gql_query '{ tag(id: "1") { productCount } product(id: "3") { tags { id } } }')
expected=$(pgcluster_psql -c "SELECT jsonb_build_object('data', jsonb_build_object(
                                  'tag', jsonb_build_object('productCount', (SELECT count(*) FROM shop.tb_product_tag WHERE tag_id = 1)),
                                  'product', jsonb_build_object('tags', (SELECT jsonb_agg(jsonb_build_object('id', t.id::text) ORDER BY t.name)
                                      FROM shop.tb_product_tag l JOIN shop.tb_tag t ON t.id = l.tag_id WHERE l.product_id = 3))))")
assert_eq "$(jq -S -c . <<<"$expected")" "$(jq -S -c . <<<"$out")" \
    "after concurrent links and unlinks, the tag's count and the product's tags are the rows'"

assert_eq 0 "$(pgcluster_psql -c "SELECT count(*) FROM tvsync.dead_letter")" "no intent was dead-lettered"
assert_exit 0 "tvsync-migrate verify: the read models equal a full rebuild" -- migrate --dir "$SHOP" verify

# The build functions' generic plans (the ones tvsync-cdc keeps per connection) read what a
# document embeds or counts by index, whatever the tables' sizes.
pgcluster_psql -c "INSERT INTO shop.tb_customer (id, name, email)
                   SELECT 'P-' || i, 'Plan ' || i, 'plan' || i || '@example.com' FROM generate_series(1, 2000) AS i;
                   INSERT INTO shop.tb_product (sku, name, price) SELECT 'PLAN-' || i, 'Plan ' || i, 1.25
                   FROM generate_series(1, 2000) AS i;
                   INSERT INTO shop.tb_order (customer_id) SELECT 'P-' || (1 + i % 2000) FROM generate_series(1, 20000) AS i;
                   INSERT INTO shop.tb_order_line (order_id, product_id, quantity, unit_price)
                   SELECT o.id, 10 + ((o.id + k * 7) % 1900)::integer, 1, 1.25
                   FROM shop.tb_order o, generate_series(0, 2) AS k WHERE o.customer_id LIKE 'P-%';
                   INSERT INTO shop.tb_tag (name) SELECT 'plan ' || i FROM generate_series(1, 2000) AS i;
                   INSERT INTO shop.tb_product_tag (product_id, tag_id)
                   SELECT p.id, t.id FROM shop.tb_product p JOIN shop.tb_tag t ON t.id % 1000 = p.id % 1000
                   WHERE p.sku LIKE 'PLAN-%' AND t.name LIKE 'plan %';
                   ANALYZE" >/dev/null
generic_plan() {
    pgcluster_psql -c "SET plan_cache_mode = force_generic_plan" \
        -c "PREPARE b($2) AS SELECT * FROM $1(\$1)" -c "EXPLAIN EXECUTE b('{$3}')"
}
for build in "shop.fn_build_customer text[] C-1001" "shop.fn_build_product integer[] 1" \
             "shop.fn_build_order bigint[] $ADA_ORDER" "shop.fn_build_tag integer[] 1"; do
    set -- $build
    assert_eq "" "$(generic_plan "$@" | grep 'Seq Scan' | grep -v ' every ')" \
        "$1: the generic plan scans no table whole (but its own when ids is NULL)"
done

test_summary

-- 006_shop_declared_rebuild: asks tvsync-cdc to rebuild the read models 005 declared, for a
-- shop database whose slot existed before them.
--
-- 005 gave the product's document its tags and added the tag's read model. A first generated
-- migration requests no rebuild (tvsync-slot create builds every entity), so on a shop set up
-- before tags the product documents would lack `tags` and shop.tv_tag would stay empty until
-- something rebuilt them. Before the slot exists these messages are never decoded.
SELECT tvsync.request_rebuild('product');
SELECT tvsync.request_rebuild('tag');

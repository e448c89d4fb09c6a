-- 0005: a style stored with a merchant-redirect or merchant-callback QR (branded QR codes).
--
-- Portable SQL as in 0001. Such a QR is printed and lives for years, so its look is stored with
-- it rather than taken from the merchant's default style (merchant_styles, 0003) at each call:
-- a later change of the default must not change the image of a QR already on a wall.
--   style       the QR's style, a JSON object the store does not interpret (the API's `style`
--               field names); NULL: the QR follows the merchant's default style
--   style_logo  the logo that style names (NULL: none). The stores check in the writing
--               transaction that it is one of the merchant's logos, and refuse to delete a logo
--               a live QR's style names; a composite foreign key, as merchant_styles has, cannot
--               be added to an existing table in SQLite.
ALTER TABLE links ADD COLUMN style TEXT;
ALTER TABLE links ADD COLUMN style_logo TEXT;
-- "Does a live QR of this merchant name this logo?", asked by every logo delete.
CREATE INDEX links_by_style_logo ON links (msn, style_logo) WHERE style_logo IS NOT NULL;

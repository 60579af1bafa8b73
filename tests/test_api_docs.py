"""The API's own page, /schema/swagger, for staff and storefront developers: it loads its Swagger UI
files from the shop itself, so it works where no CDN can be reached."""

from __future__ import annotations

import re


async def test_the_swagger_page_uses_the_shops_own_copy_of_swagger_ui(shop):
    page = await shop.http.get("/schema/swagger")

    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
    assert sorted(assets) == ["/schema/assets/swagger-ui-bundle.js", "/schema/assets/swagger-ui-standalone-preset.js",
                              "/schema/assets/swagger-ui.css"]
    for asset in assets:
        answer = await shop.http.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 10_000, asset
    spec = await shop.http.get("/schema/openapi.json")
    assert "/api/v1/orders" in spec.json()["paths"]

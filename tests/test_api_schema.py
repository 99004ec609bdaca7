"""The OpenAPI schema, its docs page, and a property-based run of every operation against it.

Schemathesis generates requests from the schema and sends them to a live test server; every
response must be a non-5xx that conforms to the schema. Examples are bounded so the run is short.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_schema_is_openapi_3_and_lists_every_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/auth/token/",
        "/api/job-types/",
        "/api/jobs/",
        "/api/jobs/{id}/",
        "/api/jobs/{id}/cancel/",
        "/api/jobs/{id}/retry/",
        "/api/uploads/",
        "/api/uploads/{id}/",
        "/api/uploads/{id}/file/",
    }


def test_the_docs_page_loads_its_assets_from_this_site(client):
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html  # works with no internet access
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html


@pytest.fixture
def api_schema(live_server):
    return schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")


@pytest.fixture
def staff_token(django_user_model) -> str:
    # A superuser reaches every operation, including retry and cancel.
    user = django_user_model.objects.create_user("fuzz", password="pw-fuzz-123", is_staff=True, is_superuser=True)
    return Token.objects.create(user=user).key


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_fails_or_breaks_the_schema(case, staff_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {staff_token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )

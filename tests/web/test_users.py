"""The staff page: admins add, change and disable staff of their own clinics only; everyone else is refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.staff.models import StaffMember
from masspost.staff.services import staff_add
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def add(client: Client, **overrides: Any) -> Any:
    data = {"username": "mari", "password": PASSWORD, "role": "sender", "clinics": ["TLN"]} | overrides
    return client.post("/users/", data)


def test_an_admin_adds_a_user_who_can_then_sign_in(ada: Client) -> None:
    response = add(ada)
    assert response.status_code == 302
    member = StaffMember.objects.get(user__username="mari")
    assert (member.role, [c.code for c in member.clinics.all()]) == ("sender", ["TLN"])
    assert Client().post("/sign-in/", {"username": "mari", "password": PASSWORD}).status_code == 302
    event = AuditEvent.objects.filter(action="user_add").latest("id")
    assert (event.actor, event.detail["user"]) == ("ada", "mari")
    assert PASSWORD not in str(event.detail)


def test_a_weak_password_or_a_taken_name_is_said_next_to_its_field_and_adds_nobody(ada: Client) -> None:
    response = add(ada, password="12345")
    assert response.status_code == 422
    assert 'id="id_password_error"' in response.content.decode()
    assert add(ada, username="ada").status_code == 422
    assert not StaffMember.objects.filter(user__username="mari").exists()


def test_an_admin_cannot_give_a_clinic_they_do_not_reach(ada: Client, other_clinic: Clinic) -> None:
    assert add(ada, clinics=["TRT"]).status_code == 422
    assert not get_user_model().objects.filter(username="mari").exists()


def uid(name: str) -> int:
    return int(get_user_model().objects.get(username=name).pk)


def test_staff_of_another_clinic_are_not_listed_and_cannot_be_changed(ada: Client, other_clinic: Clinic) -> None:
    staff_add(username="tartu", password=PASSWORD, clinics=["TRT"], role="sender", scope=Scope.operator())
    assert "tartu" not in ada.get("/users/").content.decode()
    assert ada.post(f"/users/{uid('tartu')}/role/", {"role": "admin"}).status_code == 404
    assert ada.post(f"/users/{uid('tartu')}/disable/").status_code == 404
    assert StaffMember.objects.get(user__username="tartu").role == "sender"
    assert get_user_model().objects.get(username="tartu").is_active


def test_role_change_and_disable(ada: Client, bob: Client) -> None:
    assert ada.post(f"/users/{uid('bob')}/role/", {"role": "sender"}).status_code == 302
    assert StaffMember.objects.get(user__username="bob").role == "sender"
    assert ada.post(f"/users/{uid('bob')}/disable/").status_code == 302
    assert bob.get("/bulk/").status_code == 302  # signed out at the next request
    assert ada.post(f"/users/{uid('ada')}/disable/").status_code == 400  # not oneself
    assert [e.action for e in AuditEvent.objects.order_by("id")][-2:] == ["user_change", "user_disable"]


def test_only_admins_reach_the_staff_page(alice: Client, bob: Client) -> None:
    assert alice.get("/users/").status_code == 403
    assert bob.post(f"/users/{uid('alice')}/disable/").status_code == 403
    assert Client().get("/users/").status_code == 302

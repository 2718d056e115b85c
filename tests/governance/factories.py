import datetime as dt
import hashlib

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from governance.models import Checkpoint, LedgerEntry, Policy, Proposal, Vote
from tests.registry.factories import AdapterReleaseFactory


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"member{n}")
    is_staff = True


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"group{n}")


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    kind = "governance"
    version = factory.Sequence(lambda n: n + 1)
    document = factory.LazyFunction(lambda: {"quorum": 3, "threshold": "2/3", "deadline_days": 7})


class ProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Proposal

    kind = "approve_release"
    proposer = factory.SubFactory(UserFactory)
    release = factory.SubFactory(AdapterReleaseFactory)
    opened_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyAttribute(lambda o: o.opened_at + dt.timedelta(days=7))


class VoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vote

    proposal = factory.SubFactory(ProposalFactory)
    voter = factory.SubFactory(UserFactory)
    choice = "yes"
    cast_at = factory.LazyFunction(timezone.now)


class LedgerEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerEntry

    index = factory.Sequence(lambda n: n)
    time = factory.LazyFunction(timezone.now)
    kind = "proposal.opened"
    actor = "ada"
    subject = "proposal:1"
    payload = factory.LazyFunction(dict)
    leaf = b"{}"
    leaf_hash = factory.LazyAttribute(lambda o: hashlib.sha256(b"\x00" + o.leaf).digest())


class CheckpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Checkpoint

    origin = "openpassmarket.example/log"
    size = factory.Sequence(lambda n: n)
    root_hash = hashlib.sha256(b"").digest()
    note = "openpassmarket.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    issued_at = factory.LazyFunction(timezone.now)

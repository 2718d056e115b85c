import factory
from django.utils import timezone

from registry.models import (
    AdapterRelease,
    ConformanceRun,
    Contract,
    ContractSupersession,
    PassDependency,
    PassSpec,
    VendorKey,
)


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    name = "opm-adapter"
    version = factory.Sequence(lambda n: f"1.{n}.0")
    message_schemas = factory.LazyFunction(lambda: {"signal": {"type": "object"}})


class ContractSupersessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractSupersession

    newer = factory.SubFactory(ContractFactory)
    older = factory.SubFactory(ContractFactory)


class PassSpecFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PassSpec

    toolchain = "llvm"
    name = factory.Sequence(lambda n: f"pass-{n}")
    kind = "function"
    description = "A test pass."
    toolchain_version = "22.1.8"
    synced_at = factory.LazyFunction(timezone.now)


class PassDependencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PassDependency

    kind = "requires_before"
    source = factory.SubFactory(PassSpecFactory)
    target = factory.SubFactory(PassSpecFactory)


class AdapterReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdapterRelease

    name = "llvm-size"
    version = factory.Sequence(lambda n: f"0.{n}.0")
    vendor = "Example Vendor"
    toolchain = "llvm"
    toolchain_version = "22.1.8"
    manifest = factory.LazyFunction(lambda: {"name": "llvm-size"})
    artifact_digest = "sha256:" + "ab" * 32


class ConformanceRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConformanceRun

    release = factory.SubFactory(AdapterReleaseFactory)
    contract = factory.SubFactory(ContractFactory)
    verdict = "passed"
    report = factory.LazyFunction(lambda: {"checks": []})
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(lambda o: o.started_at)


class VendorKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorKey

    vendor = "Example Vendor"
    prefix = factory.Sequence(lambda n: f"{n:012x}")
    key_hash = "0" * 64

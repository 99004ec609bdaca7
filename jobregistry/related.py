"""The object a job works on (an upload, an invoice), found by resolvers the owning apps register.

jobregistry never imports the apps whose jobs it runs, so it cannot know that `ocr:process` is
about an upload. The app that owns the job type says so, from its `AppConfig.ready()`, with a
resolver: a function that takes the JobRecord and returns the model instance it is about, or None.
The admin turns that instance into a link (to its admin page, else its `get_absolute_url()`).

Register resolvers whether or not the job type itself is registered in this process: old records
of a job type that is switched off still deserve their link.

Example:
    # uploads/apps.py, in ready()
    from jobregistry import register_related_object_resolver
    register_related_object_resolver("ocr:process", upload_for_job)

    # anywhere
    >>> related_object(record)
    <Upload: scan.png (ada)>
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

from .errors import DuplicateRelatedObjectResolver
from .registry import validate_job_name

if TYPE_CHECKING:
    from django.db.models import Model

    from .models import JobRecord

logger = logging.getLogger(__name__)

RelatedObjectResolver = Callable[["JobRecord"], "Model | None"]


class RelatedObjectRegistry:
    """Maps job names to resolvers; one instance, `related_objects`, serves the project."""

    def __init__(self) -> None:
        self._resolvers: dict[str, RelatedObjectResolver] = {}

    @overload
    def register(self, name: str, resolver: RelatedObjectResolver) -> RelatedObjectResolver: ...

    @overload
    def register(self, name: str, resolver: None = ...) -> Callable[[RelatedObjectResolver], RelatedObjectResolver]: ...

    def register(self, name: str, resolver: RelatedObjectResolver | None = None) -> Any:
        """Register `resolver` for job `name`; without `resolver`, return a decorator that does.

        The same function twice is harmless (ready() may run more than once in tests); a different
        function for a taken name is an error, as for processors.
        """
        validate_job_name(name)
        if resolver is None:
            return lambda func: self.register(name, func)
        if not callable(resolver):
            raise TypeError(f"The related-object resolver for job {name!r} must be callable, got {resolver!r}.")
        existing = self._resolvers.get(name)
        if existing is not None and existing is not resolver:
            raise DuplicateRelatedObjectResolver(
                f"Job name {name!r} already has the related-object resolver "
                f"{existing.__module__}.{existing.__qualname__}; refusing "
                f"{resolver.__module__}.{resolver.__qualname__}."
            )
        self._resolvers[name] = resolver
        return resolver

    def unregister(self, name: str) -> None:
        """Forget the resolver for `name` (for tests)."""
        self._resolvers.pop(name, None)

    def resolve(self, record: JobRecord) -> Model | None:
        """The object `record` is about, or None if no resolver knows or the object is gone.

        A resolver that raises is logged and treated as "no object": the admin page of a job with
        a malformed payload is exactly where staff must still be able to look.
        """
        resolver = self._resolvers.get(record.name)
        if resolver is None:
            return None
        try:
            return resolver(record)
        except Exception:
            logger.exception("The related-object resolver for %s failed on job %s.", record.name, record.pk)
            return None


related_objects = RelatedObjectRegistry()


def register_related_object_resolver(name: str, resolver: RelatedObjectResolver) -> RelatedObjectResolver:
    """Tell jobregistry how to find the object a job `name` is about; returns `resolver`.

    Example:
        >>> register_related_object_resolver(
        ...     "ocr:process", lambda record: Upload.objects.filter(pk=record.data.get("upload_id")).first()
        ... )
    """
    return related_objects.register(name, resolver)


def related_object(record: JobRecord) -> Model | None:
    """The object `record` is about, through the resolver registered for its name.

    Example:
        >>> related_object(JobRecord.objects.get(pk="a1b2"))
        <Upload: scan.png (ada)>
    """
    return related_objects.resolve(record)

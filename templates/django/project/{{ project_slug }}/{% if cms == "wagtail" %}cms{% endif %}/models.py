"""Editable pages, served under /pages/ and edited in the Wagtail admin at /cms/."""

from typing import ClassVar

from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page


class ContentPage(Page):  # type: ignore[misc]
    """A page with an introduction and a rich-text body."""

    intro = RichTextField(blank=True)
    body = RichTextField(blank=True)

    content_panels: ClassVar[list[FieldPanel]] = [
        *Page.content_panels,
        FieldPanel("intro"),
        FieldPanel("body"),
    ]

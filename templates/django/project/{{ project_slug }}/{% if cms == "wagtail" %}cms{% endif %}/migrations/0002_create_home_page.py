"""Replace Wagtail's placeholder welcome page with a ContentPage served at /pages/."""

from typing import Any

from django.db import migrations


def create_home_page(apps: Any, schema_editor: Any) -> None:
    content_type_model = apps.get_model("contenttypes.ContentType")
    page_model = apps.get_model("wagtailcore.Page")
    site_model = apps.get_model("wagtailcore.Site")
    content_page_model = apps.get_model("cms.ContentPage")

    root = page_model.objects.get(depth=1)
    # Wagtail's own migrations create a plain Page as the first child of the root; the site
    # pointing at it is deleted with it (cascade).
    page_model.objects.filter(depth=2, content_type__model="page").delete()
    content_type, _ = content_type_model.objects.get_or_create(app_label="cms", model="contentpage")
    home = content_page_model.objects.create(
        title="Home",
        draft_title="Home",
        slug="home",
        content_type=content_type,
        path=f"{root.path}0001",
        depth=2,
        numchild=0,
        url_path="/home/",
        locale_id=root.locale_id,
        intro="<p>Edit this page in the CMS.</p>",
    )
    page_model.objects.filter(pk=root.pk).update(numchild=1)
    site_model.objects.create(hostname="localhost", root_page=home, is_default_site=True)


def remove_home_page(apps: Any, schema_editor: Any) -> None:
    apps.get_model("cms.ContentPage").objects.filter(depth=2, slug="home").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("wagtailcore", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_home_page, remove_home_page)]

"""Writing templates: a few fields a designer fills in (product, audience, tone, keywords…) become a prompt.

Why prompts look like this. The models here are small and trained only on the user's own copy; they
continue text, they do not follow instructions ("Write a slogan for…" means nothing to them). So a template
writes the *beginning of a document* of its kind — a short labelled header in plain words, the kind of
lines that sit above copy in a brief or a product sheet — and ends where the copy itself starts, so the
model's continuation is the copy. A model trained on texts that carry such headers follows them closely;
one trained on bare copy still picks up the product name and keywords, which is most of the value. The
field "opening" (the first words of the text) is the strongest steer any template has, because the model
must continue exactly those words.

Empty optional fields are left out (no "Tone: " line with nothing after it). Field values are used as
typed (any language); only surrounding spaces are trimmed. The prompt ends with a line break (or the
opening words), never with a space: a byte-level BPE model writes a space as part of the next word's token,
so a trailing space would push it toward unusual tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.jobs import JobError


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # shown in the panel
    hint: str  # placeholder text in the panel
    required: bool = False
    multiline: bool = False


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    description: str
    fields: tuple[Field, ...]
    header: tuple[tuple[str, str], ...]  # (line label, field key) in order
    lead: str  # the line that introduces the copy itself

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


_PRODUCT = Field("product", "Product", "e.g. Linen tote bag", required=True)
_AUDIENCE = Field("audience", "Audience", "e.g. students who cycle to class")
_TONE = Field("tone", "Tone", "e.g. warm, playful, confident")
_KEYWORDS = Field("keywords", "Keywords", "e.g. handmade, waterproof, gift")
_OPENING = Field("opening", "First words", "optional: how the text should start")

TEMPLATES: dict[str, Template] = {
    t.id: t
    for t in (
        Template(
            "product_description",
            "Product description",
            "A paragraph for a shop page: what it is, who it is for, why it is good.",
            (
                _PRODUCT,
                _AUDIENCE,
                _TONE,
                _KEYWORDS,
                Field("features", "Features", "e.g. 40 cm wide, recycled cotton", multiline=True),
                _OPENING,
            ),
            (
                ("Product", "product"),
                ("For", "audience"),
                ("Tone", "tone"),
                ("Keywords", "keywords"),
                ("Features", "features"),
            ),
            "Description:",
        ),
        Template(
            "ad_slogan",
            "Ad slogan",
            "One short line for an ad, a poster or a banner.",
            (_PRODUCT, _AUDIENCE, _TONE, _KEYWORDS, _OPENING),
            (("Brand / product", "product"), ("For", "audience"), ("Tone", "tone"), ("Keywords", "keywords")),
            "Slogan:",
        ),
        Template(
            "social_post",
            "Social post",
            "A post for social media, with a call to action.",
            (
                Field("topic", "Topic", "e.g. our spring collection is here", required=True),
                _PRODUCT,
                _AUDIENCE,
                _TONE,
                _KEYWORDS,
                Field("hashtags", "Hashtags", "e.g. #spring #handmade"),
                _OPENING,
            ),
            (
                ("Topic", "topic"),
                ("Product", "product"),
                ("For", "audience"),
                ("Tone", "tone"),
                ("Keywords", "keywords"),
                ("Hashtags", "hashtags"),
            ),
            "Post:",
        ),
        Template(
            "customer_reply",
            "Customer-service reply",
            "A polite answer to a customer's message.",
            (
                Field("message", "Customer's message", "paste what the customer wrote", required=True, multiline=True),
                _PRODUCT,
                Field("tone", "Tone", "e.g. friendly, apologetic, brief"),
                Field("points", "Points to make", "e.g. refund in 3 days, free return label", multiline=True),
                _OPENING,
            ),
            (("Customer", "message"), ("Product", "product"), ("Tone", "tone"), ("Points", "points")),
            "Reply:",
        ),
        Template(
            "news_brief",
            "News brief",
            "A short news item: what happened, where, when, why it matters.",
            (
                Field("headline", "Headline", "e.g. Local bakery opens a second shop", required=True),
                Field("facts", "Key facts", "who, what, where, when", multiline=True),
                _TONE,
                _KEYWORDS,
                _OPENING,
            ),
            (("Headline", "headline"), ("Facts", "facts"), ("Tone", "tone"), ("Keywords", "keywords")),
            "Story:",
        ),
    )
}


def template_list() -> list[dict]:
    """Templates as plain dicts for the panel: id, name, description and fields."""
    return [
        {
            "id": t.id,
            "name": t.name,
            "description": t.description,
            "fields": [
                {"key": f.key, "label": f.label, "hint": f.hint, "required": f.required, "multiline": f.multiline}
                for f in t.fields
            ],
        }
        for t in TEMPLATES.values()
    ]


def get_template(template_id: str) -> Template:
    template = TEMPLATES.get(str(template_id))
    if template is None:
        raise JobError(
            f"There is no template “{template_id}”; the templates are: {', '.join(t.name for t in TEMPLATES.values())}."
        )
    return template


def build_prompt(template_id: str, fields: dict) -> str:
    """The prompt for ``template_id`` filled with ``fields`` ({key: text}); a plain JobError names a missing
    required field or an unknown one (a typo would otherwise be silently ignored)."""
    template = get_template(template_id)
    values = {str(k): ("" if v is None else str(v)).strip() for k, v in (fields or {}).items()}
    known = {f.key for f in template.fields}
    unknown = sorted(set(values) - known)
    if unknown:
        raise JobError(
            f"The {template.name.lower()} template has no field “{unknown[0]}”; its fields are: "
            f"{', '.join(f.label for f in template.fields)}."
        )
    for f in template.fields:
        if f.required and not values.get(f.key):
            raise JobError(f"Fill in “{f.label}” for the {template.name.lower()} template.")
    lines = [f"{label}: {_one_line(values[key])}" for label, key in template.header if values.get(key)]
    opening = values.get("opening", "")
    return "\n".join([*lines, template.lead, opening])  # the copy starts on its own line, after the lead


def _one_line(text: str) -> str:
    """Line breaks inside a field would look like new header lines to the model: join them with spaces."""
    return " ".join(text.split())

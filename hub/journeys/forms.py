"""The forms of the journey editor (no JSON to type): the journey's settings and one form per
step, in a formset that adds, removes and reorders steps. ``hub.journeys.editor`` turns them
into a definition and puts the validator's problems back on the right field."""

from __future__ import annotations

from typing import Any

from django import forms

from hub.journeys.schema import STEP_SCHEMAS, WAITABLE_STATUSES

KIND_CHOICES = [
    ("send", "Send a message"),
    ("wait", "Wait"),
    ("wait_for", "Wait for an event or a message status"),
    ("branch", "Branch on conditions"),
    ("digest", "Gather events, then send one digest"),
    ("exit", "Exit"),
]
assert {k for k, _ in KIND_CHOICES} == set(STEP_SCHEMAS)  # noqa: S101 - every kind has a label
CHANNEL_CHOICES = [("sms", "SMS"), ("email", "Email"), ("push", "Push")]
# The fields each kind of step shows (the editor hides the others).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "send": ("template", "channels", "routing", "extra_data", "on_blocked", "next"),
    "wait": ("duration", "until", "next"),
    "wait_for": ("event", "condition", "message_step", "message_status", "timeout", "on_match", "on_timeout"),
    "branch": ("branches", "if_field", "if_op", "if_value", "if_next", "default"),
    "digest": (
        "event",
        "key",
        "window",
        "max_events",
        "template",
        "channels",
        "routing",
        "extra_data",
        "on_blocked",
        "next",
    ),
    "exit": (),
}
DURATION_HELP = "A number and a unit: 30s, 15m, 2h, 3d."
STEP_HELP = "The id of a step (blank: the next one)."


OPERATORS = [
    ("==", "is"),
    ("!=", "is not"),
    (">=", "is at least"),
    ("<=", "is at most"),
    (">", "is more than"),
    ("<", "is less than"),
]
FIELD_HELP = "A field of the event's data (cart_total), or contact.attributes.tier, contact.locale"


class JourneyForm(forms.Form):
    key = forms.SlugField(max_length=100, help_text="e.g. abandoned_cart (fixed once created).")
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    trigger_event = forms.CharField(label="Starts when this event happens", max_length=100)
    trigger_condition = forms.CharField(
        label="Only if",
        required=False,
        widget=forms.TextInput(attrs={"size": 70}),
        help_text="Optional condition (CEL), e.g. event.data.cart_total >= 20.",
    )
    when_field = forms.CharField(
        label="Or build it: if", required=False, max_length=100, help_text=FIELD_HELP
    )
    when_op = forms.ChoiceField(label="", required=False, choices=OPERATORS)
    when_value = forms.CharField(label="value", required=False, max_length=200)
    event_fields = forms.CharField(
        label="Event fields",
        required=False,
        help_text="Optional: the event's data fields and types, e.g. cart_total:int, cart_url:string.",
        widget=forms.TextInput(attrs={"size": 70}),
    )
    reentry_policy = forms.ChoiceField(
        label="A contact may enter",
        choices=[("once", "once, ever"), ("once_per", "once per period"), ("always", "every time")],
        initial="once",
    )
    reentry_period = forms.CharField(label="Period", required=False, max_length=8, help_text=DURATION_HELP)
    exit_events = forms.CharField(
        label="Exit events",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 70}),
        help_text="One per line: an event name that ends the run, optionally followed by ' if CONDITION'.",
    )
    goal_event = forms.CharField(label="Goal event", required=False, max_length=100)
    goal_within = forms.CharField(label="Goal within", required=False, max_length=8, help_text=DURATION_HELP)
    comment = forms.CharField(label="Change note", required=False, max_length=500)


class StepForm(forms.Form):
    id = forms.CharField(label="Step id", max_length=63, help_text="a-z, digits, _ (e.g. first_wait)")
    type = forms.ChoiceField(label="Kind", choices=KIND_CHOICES)
    title = forms.CharField(required=False, max_length=200)
    next = forms.CharField(label="Then go to", required=False, max_length=63, help_text=STEP_HELP)
    template = forms.CharField(required=False, max_length=100, help_text="The template's key.")
    channels = forms.MultipleChoiceField(
        required=False, choices=CHANNEL_CHOICES, widget=forms.CheckboxSelectMultiple, help_text="In order."
    )
    routing = forms.ChoiceField(
        required=False,
        choices=[("", "first channel with an address"), ("all", "every channel")],
    )
    extra_data = forms.CharField(
        label="Extra data",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 50}),
        help_text="One key=value a line; added to the event's data.",
    )
    on_blocked = forms.CharField(label="If blocked, go to", required=False, max_length=63)
    duration = forms.CharField(required=False, max_length=8, help_text=DURATION_HELP)
    until = forms.CharField(
        label="Or until (HH:MM)", required=False, max_length=5, help_text="Contact's local time."
    )
    event = forms.CharField(required=False, max_length=100, help_text="An event name.")
    condition = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 60}), help_text="CEL")
    message_step = forms.CharField(label="Or the message of step", required=False, max_length=63)
    message_status = forms.MultipleChoiceField(
        label="reaching",
        required=False,
        choices=[(s, s) for s in WAITABLE_STATUSES],
        widget=forms.CheckboxSelectMultiple,
    )
    timeout = forms.CharField(required=False, max_length=8, help_text=DURATION_HELP)
    on_match = forms.CharField(label="If it comes, go to", required=False, max_length=63)
    on_timeout = forms.CharField(label="If not, go to", required=False, max_length=63)
    branches = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="One a line: CONDITION => step_id (optional label after a |), e.g. "
        "event.data.cart_total >= 100 => sms | big carts",
    )
    if_field = forms.CharField(
        label="Or add a branch: if", required=False, max_length=100, help_text=FIELD_HELP
    )
    if_op = forms.ChoiceField(label="", required=False, choices=OPERATORS)
    if_value = forms.CharField(label="value", required=False, max_length=200)
    if_next = forms.CharField(label="go to", required=False, max_length=63)
    default = forms.CharField(label="Otherwise go to", required=False, max_length=63)
    window = forms.CharField(required=False, max_length=8, help_text=DURATION_HELP)
    max_events = forms.IntegerField(label="Close early at", required=False, min_value=1, max_value=1000)
    key = forms.CharField(label="Group by data field", required=False, max_length=64)

    def kind_fields(self) -> list[Any]:
        """The bound fields of every kind, each tagged with the kinds that show it."""
        shown = []
        for name in (
            "next",
            "template",
            "channels",
            "routing",
            "extra_data",
            "on_blocked",
            "duration",
            "until",
            "event",
            "condition",
            "message_step",
            "message_status",
            "timeout",
            "on_match",
            "on_timeout",
            "branches",
            "if_field",
            "if_op",
            "if_value",
            "if_next",
            "default",
            "window",
            "max_events",
            "key",
        ):
            kinds = " ".join(k for k, names in KIND_FIELDS.items() if name in names)
            shown.append((self[name], kinds))
        return shown


StepFormSet = forms.formset_factory(
    StepForm, extra=0, can_order=True, can_delete=True, min_num=1, max_num=100
)


class SubmitForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReviewForm(forms.Form):
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Required to reject."
    )


class SimulateForm(forms.Form):
    contact = forms.CharField(label="Contact (external id)", max_length=200)
    events = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="One a line, the trigger first: +0m cart.abandoned cart_total=40 cart_url=https://shop/c/1 — "
        "then later events (+3h order.completed) or message statuses (+1h status push clicked).",
    )

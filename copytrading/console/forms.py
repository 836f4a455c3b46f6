from __future__ import annotations

from django import forms

from accounts.models import User
from copytrading.models import Deployment
from execution.models import TradingSwitch


class SwitchForm(forms.Form):
    name = forms.ChoiceField(choices=TradingSwitch.Name.choices, widget=forms.HiddenInput)
    engaged = forms.TypedChoiceField(
        choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1", widget=forms.HiddenInput
    )
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 40}), help_text="Required.")


class RouteForm(forms.Form):
    username = forms.CharField(max_length=150, label="User")
    deployment = forms.ModelChoiceField(
        queryset=Deployment.objects.filter(is_active=True).order_by("key"),
        to_field_name="key",
        empty_label="shared (shared backend)",
        required=False,
    )
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 40}))

    def clean_username(self) -> User:
        user = User.objects.filter(username=self.cleaned_data["username"].strip()).first()
        if user is None:
            raise forms.ValidationError("No such user.")
        return user

"""Microsoft Graph dynamic resources for what no Pulumi or Terraform provider offers: B2C's API
connector and user flow, and Entra External ID's custom extension and sign-up flow."""

from components.graph.api_connector import ApiConnector
from components.graph.custom_extension import CustomExtension
from components.graph.signup_flow import SignUpFlow
from components.graph.user_flow import B2CUserFlow, UserAttribute, UserAttributeValue

__all__ = [
    "ApiConnector",
    "B2CUserFlow",
    "CustomExtension",
    "SignUpFlow",
    "UserAttribute",
    "UserAttributeValue",
]

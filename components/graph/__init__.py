"""Microsoft Graph dynamic resources for what no Pulumi or Terraform provider offers in B2C."""

from components.graph.api_connector import ApiConnector
from components.graph.user_flow import B2CUserFlow, UserAttribute, UserAttributeValue

__all__ = ["ApiConnector", "B2CUserFlow", "UserAttribute", "UserAttributeValue"]

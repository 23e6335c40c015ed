"""Microsoft Graph dynamic resources for what no Pulumi or Terraform provider offers: B2C's API
connector (api_connector.py) and user flow (user_flow.py), Entra External ID's custom extension
(custom_extension.py) and sign-up flow (signup_flow.py). gateway.py is the only module that talks
to Graph; b2c_calls.py and external_id_calls.py hold each platform's paths and shapes; model.py and
external_id_model.py the pure rules; permissions.py the permission names.

Import from the modules themselves: importing this package loads nothing, so the pure rules reach
the policy pack and stack config without the Graph stack behind the providers.
"""

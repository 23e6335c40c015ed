"""The deployed function app's root folder.

The Functions host puts this folder on sys.path and imports function_app.py, whose modules import
each other top-level (`import signup_rules`). The program imports the pure modules of it that it
shares with the function (`from functions import app_settings, origins, signup_rules,
web_api_spec`): those import no sibling module, so they load the same way in both places.
"""

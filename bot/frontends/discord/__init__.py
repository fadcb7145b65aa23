"""The Discord front end (discord.py app_commands): client, commands, rendering."""

"""A small task project for the command-line, picture and notebook tests."""

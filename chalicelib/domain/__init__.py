"""Pure domain: models, rules and parsing. Imports nothing from the project but itself."""

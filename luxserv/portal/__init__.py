"""The guest portal: a guest opens their stay by an access code and asks for services."""

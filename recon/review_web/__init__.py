"""`recon review`: a local web page where a person confirms, rejects and matches by hand.

server.py serves it (stdlib http.server, token, loopback only by default), page.py
renders it, actions.py turns a JSON request into one decision.
"""

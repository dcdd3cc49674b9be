"""The staff console (工作人员后台): accounts, roles, sessions and CSRF, the staff REST API, and the
server-rendered pages that call the same services."""

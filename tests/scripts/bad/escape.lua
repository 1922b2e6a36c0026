-- reaching for the host at load time
local f = io.open("/etc/passwd")
return {}

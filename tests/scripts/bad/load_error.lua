-- fails while loading
local x = nil
error("boom at load")

--[[ channel_effectiveness - how often a request is completed, across channels.

Params:
  min_requests  default 20: the fewest decided requests a channel needs to
                count for worst_channel_rate

Over the service events, per channel c (a missing channel is its own
channel, "unknown"): n_c = decided requests (outcome completed, rejected or
cancelled; "pending" is left out of both counts, it is not yet decided),
k_c = completed requests.  N = sum of n_c, K = sum of k_c.

  value = sum over c of (n_c / N) * (k_c / n_c) * 100
        = K / N * 100   (the volume-weighted mean of the channels'
                         completion rates is the overall completion rate)
  n     = N
  extras: worst_channel_rate = the lowest k_c / n_c * 100 among channels
          with at least min_requests decided requests (absent when none);
          channels = the number of channels with a decided request;
          unweighted_mean = the plain mean of k_c / n_c * 100 over them.

No decided request: value nil.

By hand (min_requests = 2): online 3 completed + 1 rejected, phone 1
completed + 1 cancelled, mobile_app 1 completed, plus 1 pending ->
N = 7, K = 5, value = 71.43 %; online 75 %, phone 50 %, mobile_app 100 %
(1 request, below min_requests) -> worst_channel_rate = 50,
unweighted_mean = (75 + 50 + 100) / 3 = 75, channels = 3.
]]
return {
	name = "channel_effectiveness",
	unit = "%",
	description = "completed / decided requests x 100 over all channels (the volume-weighted mean of the channels' rates)",
	kinds = { "service" },
	fields = { "channel", "outcome" },

	init = function(params)
		local min = params.min_requests or 20
		if type(min) ~= "number" or min < 0 then
			error("param min_requests must be a number >= 0, got " .. tostring(min), 0)
		end
		return { min_requests = min, n = {}, k = {} }
	end,

	step = function(s, channel, outcome)
		if outcome == nil or outcome == "pending" then
			return
		end
		local c = channel or "unknown"
		s.n[c] = (s.n[c] or 0) + 1
		if outcome == "completed" then
			s.k[c] = (s.k[c] or 0) + 1
		end
	end,

	merge = function(a, b)
		for c, n in pairs(b.n) do
			a.n[c] = (a.n[c] or 0) + n
		end
		for c, k in pairs(b.k) do
			a.k[c] = (a.k[c] or 0) + k
		end
	end,

	final = function(s)
		local N, K, channels, sum_rates, worst = 0, 0, 0, 0, nil
		for c, n in pairs(s.n) do
			local k = s.k[c] or 0
			local rate = k / n * 100
			N, K, channels, sum_rates = N + n, K + k, channels + 1, sum_rates + rate
			if n >= s.min_requests and (worst == nil or rate < worst) then
				worst = rate
			end
		end
		if N == 0 then
			return nil, 0, { channels = 0 }, "no decided request"
		end
		return K / N * 100, N,
			{ worst_channel_rate = worst, channels = channels, unweighted_mean = sum_rates / channels }
	end,
}

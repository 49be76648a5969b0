-- :checkhealth asyncode
local M = {}

local function reporter()
  local h = vim.health or {}
  if not h.start then
    local ok, legacy = pcall(require, 'health') -- Neovim 0.7-0.8
    if ok then
      h = { start = legacy.report_start, ok = legacy.report_ok, warn = legacy.report_warn,
        error = legacy.report_error, info = legacy.report_info }
    end
  end
  return h
end

--- Run a command with a timeout; returns its output, or nil and why.
local function run(cmd, timeout_ms)
  local out = {}
  local ok, job = pcall(vim.fn.jobstart, cmd, {
    stdout_buffered = true,
    on_stdout = function(_, data)
      out = data
    end,
  })
  if not ok or job <= 0 then
    return nil, 'cannot run ' .. table.concat(cmd, ' ')
  end
  local status = vim.fn.jobwait({ job }, timeout_ms)[1]
  if status == -1 then
    vim.fn.jobstop(job)
    return nil, table.concat(cmd, ' ') .. ' did not answer within ' .. timeout_ms .. ' ms'
  elseif status ~= 0 then
    return nil, table.concat(cmd, ' ') .. ' exited with ' .. status
  end
  return vim.trim(table.concat(out, '\n'))
end

function M.check()
  local h = reporter()
  local config = require('asyncode.config')
  local client = require('asyncode.client')
  h.start('asyncode')
  local v = vim.version()
  local nvim = string.format('%d.%d.%d', v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.7') == 1 then
    h.ok('Neovim ' .. nvim)
  else
    h.error('Neovim ' .. nvim .. ': asyncode needs 0.7 or later')
  end
  local cmd = config.daemon_cmd()
  if not cmd then
    h.error('asyncoded not found', { 'set $ASYNCODE_DAEMON, put asyncoded on PATH, or setup{ cmd = {...} }' })
    return
  end
  h.ok('daemon: ' .. table.concat(cmd, ' '))
  local version, err = run({ cmd[1], '--version' }, 5000)
  if version then
    h.ok('asyncoded --version: ' .. version)
  else
    h.error(err)
    return
  end
  local e = nil
  local ready = false
  client.ensure(function(x)
    e, ready = x, true
  end)
  vim.wait(5000, function()
    return ready
  end, 10)
  if not ready or e then
    h.error('the daemon did not answer initialize: ' .. tostring(e or 'timed out'))
    return
  end
  local info = client.state.info
  h.ok(string.format('protocol %s, revision %d, columns in %s', tostring(info.protocolVersion),
    client.revision(), client.encoding()))
  if client.revision() < 1 then
    h.warn('the daemon speaks revision 0: no execStart, tags or variable trees; columns converted here')
  end
  if info.python then
    h.ok(string.format('Python %s (%s)', info.python.version or '?', info.python.executable or '?'))
  end
  local backends = info.backends or {}
  if vim.tbl_contains(backends, 'trio') then
    h.ok('trio available (backends: ' .. table.concat(backends, ', ') .. ')')
  else
    h.warn('trio not available (backends: ' .. table.concat(backends, ', ') .. ')',
      { 'install trio for the daemon\'s Python (Debian: python3-trio)' })
  end
  local backend = config.values.backend or 'asyncio'
  if not vim.tbl_contains(backends, backend) then
    h.error('the configured backend ' .. backend .. ' is not available')
  end
  if config.values.python then
    local p = vim.fn.expand(config.values.python)
    if vim.fn.isdirectory(p) == 1 or vim.fn.executable(p) == 1 then
      h.ok('python: ' .. p)
    else
      h.error('python: ' .. p .. ' is neither a venv nor an interpreter')
    end
  end
  if pcall(require, 'cmp') then
    h.ok('nvim-cmp found: source "asyncode" registered by setup()')
  else
    h.info('nvim-cmp not installed: completion through omnifunc (<C-x><C-o>)')
  end
end

return M

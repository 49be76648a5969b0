-- asyncode for Neovim: run Python in live sessions of the asyncoded daemon, output inline.
-- Public API; the commands in plugin/asyncode.lua call these. setup() is optional.
local config = require('asyncode.config')

local M = {}

local did_init = false

local links = {
  AsyncodeOutput = 'Comment',
  AsyncodeStderr = 'WarningMsg',
  AsyncodeResult = 'Special',
  AsyncodeOk = 'String',
  AsyncodeError = 'ErrorMsg',
  AsyncodeInterrupted = 'WarningMsg',
  AsyncodeSpinner = 'Comment',
  AsyncodeDuration = 'Comment',
  AsyncodeBorder = 'NonText',
  AsyncodeTruncated = 'NonText',
  AsyncodeHeader = 'Title',
  AsyncodeVarName = 'Identifier',
  AsyncodeVarType = 'Type',
}
M.highlight_links = links

local function define_highlights()
  for name, target in pairs(links) do
    vim.api.nvim_set_hl(0, name, { link = target, default = true })
  end
end

local function init()
  if did_init then
    return
  end
  did_init = true
  define_highlights()
  require('asyncode.input')
  local group = vim.api.nvim_create_augroup('asyncode', { clear = true })
  vim.api.nvim_create_autocmd('ColorScheme', {
    group = group,
    callback = function()
      define_highlights()
      require('asyncode.ansi').reset()
    end,
  })
  vim.api.nvim_create_autocmd('VimLeavePre', {
    group = group,
    callback = function()
      local client = require('asyncode.client')
      if client.running() then
        client.stop()
        vim.wait(500, function()
          return not client.running()
        end, 10)
      end
    end,
  })
end

local function buf_mappings(bufnr)
  local function map(mode, lhs, rhs, desc)
    vim.keymap.set(mode, lhs, rhs, { buffer = bufnr, desc = desc, silent = true })
  end
  map('n', '<localleader>r', '<Plug>(AsyncodeRunOperator)', 'asyncode: run {motion}')
  map('n', '<localleader>rr', '<Cmd>AsyncodeRun<CR>', 'asyncode: run the statement')
  map('x', '<localleader>r', ':AsyncodeRun<CR>', 'asyncode: run the selection')
  map('n', '<localleader>c', '<Cmd>AsyncodeRunCell<CR>', 'asyncode: run the cell')
  map('n', '<localleader>R', '<Cmd>AsyncodeRunFile<CR>', 'asyncode: run the file')
  map('n', '<localleader>i', '<Cmd>AsyncodeInterrupt<CR>', 'asyncode: interrupt')
  map('n', '<localleader>o', '<Cmd>AsyncodeOutput<CR>', 'asyncode: output window')
  map('n', '<localleader>v', '<Cmd>AsyncodeVariables<CR>', 'asyncode: variables')
  map('n', '<localleader>k', '<Cmd>AsyncodeInspect<CR>', 'asyncode: inspect')
  map('n', '<localleader>x', '<Cmd>AsyncodeClear<CR>', 'asyncode: clear')
end

--- Options: see :help asyncode-options. Calling it is optional.
function M.setup(opts)
  config.setup(opts)
  if package.loaded['asyncode.sessions'] then
    require('asyncode.sessions').forget_roots()
  end
  init()
  local group = vim.api.nvim_create_augroup('asyncode_setup', { clear = true })
  if config.values.mappings then
    vim.api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = 'python',
      callback = function(ev)
        buf_mappings(ev.buf)
      end,
    })
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) and vim.bo[b].filetype == 'python' then
        buf_mappings(b)
      end
    end
  end
  require('asyncode.complete').register_cmp()
end

local function runs()
  init()
  return require('asyncode.runs')
end

local function code()
  return require('asyncode.code')
end

local function submit(chunk)
  if not chunk then
    return nil
  end
  if #chunk.code_lines == 1 and chunk.code_lines[1]:match('^%s*$') then
    require('asyncode.client').notify('nothing to run')
    return nil
  end
  return runs().submit(chunk)
end

--- :AsyncodeRun: lines line1..line2 (1-based) when given, else the statement under the
--- cursor. cb(run) once it is sent (the statement needs a compile round trip first).
function M.run(line1, line2, cb)
  cb = cb or function() end
  local bufnr = vim.api.nvim_get_current_buf()
  init()
  if line1 and line2 then
    return cb(submit(code().chunk(bufnr, line1 - 1, line2 - 1)))
  end
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  code().statement(bufnr, row, function(chunk, why)
    if not chunk then
      require('asyncode.client').notify(why or 'no statement under the cursor')
      return cb(nil)
    end
    cb(submit(chunk))
  end)
end

function M.run_cell()
  init()
  local bufnr = vim.api.nvim_get_current_buf()
  return submit(code().cell(bufnr, vim.api.nvim_win_get_cursor(0)[1] - 1))
end

function M.run_file()
  init()
  return submit(code().file(vim.api.nvim_get_current_buf()))
end

--- 'operatorfunc' of <Plug>(AsyncodeRunOperator).
function M.operator(kind)
  init()
  local bufnr = vim.api.nvim_get_current_buf()
  local first = vim.api.nvim_buf_get_mark(bufnr, '[')[1]
  local last = vim.api.nvim_buf_get_mark(bufnr, ']')[1]
  if first == 0 or last == 0 then
    return
  end
  local _ = kind -- characterwise motions run whole lines too
  submit(code().chunk(bufnr, first - 1, last - 1))
end

local function current_session()
  init()
  return require('asyncode.sessions').for_buffer(0)
end

function M.interrupt(cb)
  cb = cb or function() end
  local sessions = require('asyncode.sessions')
  local client = require('asyncode.client')
  local s = current_session()
  if not client.running() then
    return cb(nil)
  end
  sessions.request(s, client.method.interrupt, {}, function(err, result)
    if err then
      client.notify('interrupt: ' .. (err.message or ''), vim.log.levels.WARN)
    elseif result and not result.interrupted then
      client.notify('nothing is running')
    end
    cb(result)
  end)
end

function M.restart(cb)
  cb = cb or function() end
  local sessions = require('asyncode.sessions')
  local client = require('asyncode.client')
  local s = current_session()
  sessions.request(s, client.method.session_restart, {}, function(err, result)
    if err then
      client.notify('restart: ' .. (err.message or ''), vim.log.levels.WARN)
    else
      require('asyncode.runs').forget_counts(s.name)
      client.notify('session restarted (pid ' .. tostring(result.pid) .. ')')
    end
    cb(result)
  end)
end

function M.output()
  init()
  return require('asyncode.output').toggle()
end

function M.variables(cb)
  init()
  return require('asyncode.variables').open(cb)
end

function M.inspect(cb)
  init()
  return require('asyncode.inspect').show(cb)
end

function M.clear()
  runs().clear(vim.api.nvim_get_current_buf())
end

function M.stop(cb)
  init()
  require('asyncode.client').stop(cb)
end

function M.omnifunc(findstart, base)
  init()
  return require('asyncode.complete').omnifunc(findstart, base)
end

--- For the statusline: '' without a session, else its state ('asyncode ⠋ busy', ...).
function M.status()
  local ok, sessions = pcall(require, 'asyncode.sessions')
  if not ok then
    return ''
  end
  local s
  local name = vim.b.asyncode_session
  for _, x in pairs(sessions.all) do
    if x.name == name or (not name and x.root == sessions.root_of(0)) then
      s = x
    end
  end
  if not s or s.state == 'closed' then
    return ''
  end
  if s.state == 'busy' then
    local run = require('asyncode.runs').running(s)
    local frames = config.values.inline.spinner
    local frame = frames[math.floor((vim.uv or vim.loop).hrtime() / 1e8) % #frames + 1]
    local elapsed = run and run.t0 and ((vim.uv or vim.loop).hrtime() / 1e6 - run.t0) or nil
    return 'asyncode ' .. frame .. ' busy' .. (elapsed and elapsed >= 1000 and
      string.format(' %d s', math.floor(elapsed / 1000)) or '')
  end
  return 'asyncode ' .. s.state
end

return M

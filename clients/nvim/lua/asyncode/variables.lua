-- :AsyncodeVariables: the session's namespace as a tree in `asyncode://variables`.
-- Entries with a `ref` (revision 1) expand with <CR> (or `o`), listing their children in
-- pages; `R` reloads, `q` closes. Refs are valid until the session's next exec, so the
-- tree reloads itself when a run starts.
local client = require('asyncode.client')
local sessions = require('asyncode.sessions')
local scratch = require('asyncode.scratch')

local M = {}

M.page_size = 100 -- children listed per `variables` request
local NAME = 'asyncode://variables'
local ns = vim.api.nvim_create_namespace('asyncode_variables')

local view = { buf = nil, session = nil, roots = nil, rows = {} }
M.view = view

local function fetch(s, ref, start, cb)
  local params = { session = s.name }
  if ref then
    params.ref, params.start, params.count = ref, start or 0, M.page_size
  end
  client.request(client.method.variables, params, function(err, result)
    if err or not result then
      return cb(err and (err.message or 'variables failed') or 'no answer')
    end
    cb(nil, result.variables or {}, result.total)
  end)
end

--- A tree entry; `index` names an entry that came without a name (an item of a sequence).
local function node(v, depth, index)
  local name = v.name or (index and ('[' .. index .. ']')) or '?'
  return { name = name, type = v.type or '', repr = v.repr, ref = (v.ref and v.ref ~= 0) and v.ref or nil,
    length = v.length, shape = v.shape, depth = depth, open = false, children = nil, total = nil }
end

local function draw()
  local b = view.buf
  if not (b and vim.api.nvim_buf_is_valid(b)) then
    return
  end
  local lines, hls = {}, {}
  view.rows = {}
  local function emit(n)
    local pad = string.rep('  ', n.depth)
    local icon = n.ref and (n.open and '▾ ' or '▸ ') or '  '
    local extra = n.shape or (n.length and ('len ' .. n.length)) or nil
    local typ = n.type .. (extra and (' ' .. extra) or '')
    local text = string.format('%s%s%s  %s  %s', pad, icon, n.name, typ, (n.repr or ''):gsub('\n', '⏎'))
    table.insert(lines, text)
    table.insert(view.rows, n)
    local name_start = #pad + #icon
    table.insert(hls, { 'AsyncodeVarName', #lines - 1, name_start, name_start + #n.name })
    table.insert(hls, { 'AsyncodeVarType', #lines - 1, name_start + #n.name + 2, name_start + #n.name + 2 + #typ })
    if n.open and n.children then
      for _, c in ipairs(n.children) do
        emit(c)
      end
      if n.total and #n.children < n.total then
        table.insert(lines, string.format('%s    … %d more (<CR>)', pad, n.total - #n.children))
        table.insert(view.rows, { more = n, depth = n.depth + 1 })
      end
    end
  end
  if view.error then
    lines = { view.error }
  elseif view.roots and #view.roots == 0 then
    lines = { '(no variables)' }
  end
  for _, n in ipairs(view.roots or {}) do
    emit(n)
  end
  scratch.set_lines(b, 0, -1, lines)
  vim.api.nvim_buf_clear_namespace(b, ns, 0, -1)
  for _, h in ipairs(hls) do
    vim.api.nvim_buf_set_extmark(b, ns, h[2], h[3], { end_col = h[4], hl_group = h[1] })
  end
end

--- Load the top level again; cb() when drawn.
function M.refresh(cb)
  cb = cb or function() end
  local s = view.session
  if not s then
    return cb()
  end
  fetch(s, nil, nil, function(err, vars)
    view.error = err and ('asyncode: ' .. err) or nil
    view.roots = {}
    for _, v in ipairs(vars or {}) do
      table.insert(view.roots, node(v, 0))
    end
    draw()
    cb()
  end)
end

--- Expand or collapse the entry on a row (1-based); cb() when drawn.
function M.toggle(row, cb)
  cb = cb or function() end
  local n = view.rows[row]
  if not n then
    return cb()
  end
  local target, start = n, 0
  if n.more then
    target, start = n.more, #n.more.children
  elseif not n.ref then
    return cb()
  elseif n.open then
    n.open = false
    draw()
    return cb()
  elseif n.children then
    n.open = true
    draw()
    return cb()
  end
  fetch(view.session, target.ref, start, function(err, vars, total)
    if err then
      client.notify(err, vim.log.levels.WARN)
      return cb()
    end
    target.children = target.children or {}
    for i, v in ipairs(vars) do
      table.insert(target.children, node(v, target.depth + 1, start + i - 1))
    end
    target.total = total or #target.children
    target.open = true
    draw()
    cb()
  end)
end

local function ensure_buf()
  if view.buf and vim.api.nvim_buf_is_valid(view.buf) then
    return view.buf
  end
  local b = scratch.buffer(NAME, 'asyncode_variables')
  local function map(lhs, fn)
    vim.keymap.set('n', lhs, fn, { buffer = b, nowait = true, silent = true })
  end
  map('<CR>', function()
    M.toggle(vim.api.nvim_win_get_cursor(0)[1])
  end)
  map('o', function()
    M.toggle(vim.api.nvim_win_get_cursor(0)[1])
  end)
  map('R', function()
    M.refresh()
  end)
  map('q', '<Cmd>close<CR>')
  view.buf = b
  return b
end

--- Open the tree for the current buffer's session; cb() when it is drawn.
function M.open(cb)
  local s = sessions.for_buffer(0)
  view.session = s
  local b = ensure_buf()
  local shown = false
  for _, w in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(w) == b then
      shown = true
      vim.api.nvim_set_current_win(w)
    end
  end
  if not shown then
    vim.cmd('botright vertical 50split')
    vim.api.nvim_win_set_buf(0, b)
    vim.wo.number = false
    vim.wo.wrap = false
  end
  sessions.ensure(s, function(err)
    if err then
      view.error = 'asyncode: ' .. err
      draw()
      return (cb or function() end)()
    end
    M.refresh(cb)
  end)
end

-- refs die when the next exec starts: reload the tree when a run of its session answers
client.on(client.method.status, function(p)
  if view.session and p.session == view.session.name and p.state == 'idle' and view.buf
    and vim.api.nvim_buf_is_valid(view.buf) and vim.fn.bufwinid(view.buf) ~= -1 then
    M.refresh()
  end
end)

return M

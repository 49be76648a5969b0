-- Completion from the live session: an omnifunc and an nvim-cmp source. Columns go to the
-- daemon in its positionEncoding (utf-8 when it speaks revision 1; code points before).
local client = require('asyncode.client')
local sessions = require('asyncode.sessions')
local config = require('asyncode.config')
local encoding = require('asyncode.encoding')

local M = {}

local kinds = {
  ['function'] = 'f',
  module = 'm',
  class = 'c',
  instance = 'v',
  statement = 'v',
  keyword = 'k',
  param = 'v',
  property = 'p',
  path = 'f',
}

--- Ask the daemon for matches of `line` at byte column `col`; cb(err, {start=byte col,
--- stop=byte col, matches}).
function M.request(bufnr, line, col, cb)
  local s = sessions.for_buffer(bufnr)
  sessions.ensure(s, function(err)
    if err then
      return cb(err)
    end
    local enc = client.encoding()
    local params = { session = s.name, code = line, cursor = encoding.to_wire(line, col, enc) }
    client.request(client.method.complete, params, function(e, result)
      if e or not result then
        return cb(e and (e.message or 'complete failed') or 'no answer')
      end
      cb(nil, {
        start = encoding.from_wire(line, result.cursorStart or col, enc),
        stop = encoding.from_wire(line, result.cursorEnd or col, enc),
        matches = result.matches or {},
      })
    end)
  end)
end

local last = nil -- the answer of the findstart call

--- 'omnifunc': set it with `setlocal omnifunc=v:lua.require'asyncode'.omnifunc`.
function M.omnifunc(findstart, base)
  if findstart == 1 then
    local bufnr = vim.api.nvim_get_current_buf()
    local line = vim.api.nvim_get_current_line()
    local col = vim.api.nvim_win_get_cursor(0)[2]
    local done, err, answer = false, nil, nil
    M.request(bufnr, line, col, function(e, a)
      done, err, answer = true, e, a
    end)
    vim.wait(config.values.complete_timeout_ms or 2000, function()
      return done
    end, 5)
    if not done or err or not answer then
      last = nil
      return -3
    end
    last = answer
    return answer.start
  end
  local items = {}
  for _, m in ipairs(last and last.matches or {}) do
    if base == '' or vim.startswith(m.text, base) then
      table.insert(items, { word = m.text, menu = m.type and ('[' .. m.type .. ']') or nil,
        kind = kinds[m.type or ''] or '', icase = 0, dup = 0 })
    end
  end
  return items
end

-- nvim-cmp ------------------------------------------------------------------------------

local cmp_kinds = {
  ['function'] = 3,
  module = 9,
  class = 7,
  instance = 6,
  statement = 6,
  keyword = 14,
  param = 6,
  property = 10,
  path = 17,
}

local source = {}
source.__index = source

function M.cmp_source()
  return setmetatable({}, source)
end

function source:is_available()
  return vim.bo.filetype == 'python' and client.running()
end

function source:get_debug_name()
  return 'asyncode'
end

function source:get_trigger_characters()
  return { '.' }
end

function source:get_keyword_pattern()
  return [[\k\+]]
end

function source:complete(params, callback)
  local ctx = params.context
  local line = ctx.cursor_line
  local col = ctx.cursor.col - 1 -- cmp's col is 1-based bytes
  M.request(ctx.bufnr, line, col, function(err, answer)
    if err or not answer then
      return callback({ items = {}, isIncomplete = false })
    end
    local items = {}
    local row = ctx.cursor.row - 1
    for _, m in ipairs(answer.matches) do
      table.insert(items, {
        label = m.text,
        kind = cmp_kinds[m.type or ''],
        detail = m.type,
        textEdit = {
          newText = m.text,
          range = {
            start = { line = row, character = encoding.to_wire(line, answer.start, 'utf-16') },
            ['end'] = { line = row, character = encoding.to_wire(line, answer.stop, 'utf-16') },
          },
        },
      })
    end
    callback({ items = items, isIncomplete = false })
  end)
end

--- Register the nvim-cmp source 'asyncode' when nvim-cmp is installed.
function M.register_cmp()
  local ok, cmp = pcall(require, 'cmp')
  if not ok or type(cmp) ~= 'table' or not cmp.register_source then
    return false
  end
  cmp.register_source('asyncode', M.cmp_source())
  return true
end

return M

-- Streamed text cut into lines of highlighted pieces, as a terminal shows it: "\n" ends a
-- line, "\r" alone goes back to its start (progress bars), "\r\n" is one line end.
-- keep = N keeps the last N finished lines (inline output); collect = true gathers finished
-- lines until `take()` (the output buffer writes them and forgets them).
local Lines = {}
Lines.__index = Lines

function Lines.new(opts)
  opts = opts or {}
  return setmetatable({
    keep = opts.keep,
    collect = opts.collect,
    kept = {},
    fresh = {},
    total = 0, -- finished lines so far
    cur = {}, -- pieces of the line being written
    cr = false, -- a "\r" ended the last chunk
    rewound = false, -- the current line was rewound since the last take()
  }, Lines)
end

function Lines:_finish()
  local line = self.cur
  self.cur = {}
  self.total = self.total + 1
  if self.keep then
    table.insert(self.kept, line)
    if #self.kept > self.keep then
      table.remove(self.kept, 1)
    end
  end
  if self.collect then
    table.insert(self.fresh, line)
  end
end

function Lines:_rewind()
  self.cur = {}
  self.rewound = true
end

--- pieces: list of {text, group}.
function Lines:push(pieces)
  for _, piece in ipairs(pieces) do
    local text, hl = piece[1], piece[2]
    local pos = 1
    while pos <= #text do
      if self.cr then
        self.cr = false
        if text:sub(pos, pos) == '\n' then
          self:_finish()
          pos = pos + 1
          goto continue
        end
        self:_rewind()
      end
      do
        local s = text:find('[\r\n]', pos)
        local stop = s and s - 1 or #text
        if stop >= pos then
          table.insert(self.cur, { text:sub(pos, stop), hl })
        end
        if not s then
          break
        end
        if text:sub(s, s) == '\n' then
          self:_finish()
        else
          self.cr = true
        end
        pos = s + 1
      end
      ::continue::
    end
  end
end

--- Forget the last n finished lines (a display that is replaced). Lines no longer kept are
--- only uncounted.
function Lines:drop(n)
  for _ = 1, math.min(n, self.total) do
    if #self.kept > 0 then
      table.remove(self.kept)
    end
    self.total = self.total - 1
  end
end

--- Finished lines gathered since the last take (collect mode).
function Lines:take()
  local fresh = self.fresh
  self.fresh = {}
  self.rewound = false
  return fresh
end

function Lines:empty()
  return self.total == 0 and #self.cur == 0
end

--- A line's pieces as plain text.
function Lines.text(line)
  local out = {}
  for _, p in ipairs(line) do
    table.insert(out, p[1])
  end
  return table.concat(out)
end

return Lines
